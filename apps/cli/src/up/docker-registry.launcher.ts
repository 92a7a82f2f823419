import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ensureRegistrySigningKey } from '@infrabox/auth';
import { bindAddressOf, type InstallConfig, registryCertificateFile, registryOf, registryTokenAuthOf, renderRegistryConfig } from '@infrabox/config';
import { probe } from '@infrabox/toolkit';
import { CliError } from '../cli-error';
import { displayPath } from '../cli-paths';

/** Debian's CNCF distribution registry (package `docker-registry`). */
export const DOCKER_REGISTRY_BINARY = '/usr/bin/docker-registry';

/** The one line `infrabox up` prints when the registry program is missing (it goes on without registries). */
export const NO_DOCKER_REGISTRY_NOTICE =
  `${DOCKER_REGISTRY_BINARY} not found: the clusters run without image registries, so images cannot be stored (install it with \`apt-get install docker-registry\`)`;

const PROBE_TIMEOUT_MS = 2_000;

/** One installation's registry, ready to be started: `docker-registry serve <configFile>`. */
export interface PreparedDockerRegistry {
  configFile: string;
  /** Where it is probed (it listens on all interfaces). */
  localUrl: string;
  /** Where other clusters and engines reach it (the install config's `registry.url`). */
  url: string;
  /** The folder it stores images in. */
  storage: string;
}

/** The registry program when it is installed. */
export function findDockerRegistry(): string | undefined {
  return existsSync(DOCKER_REGISTRY_BINARY) ? DOCKER_REGISTRY_BINARY : undefined;
}

/**
 * Readies the registry of one installation before anything starts: its signing key (created once,
 * read by the api too) and certificate, and its `config.yml` in `<state dir>/registry/<cluster>/`
 * (rewritten each time from the install config: storage in the cluster's storage, token auth by
 * the cluster's api).
 */
export async function prepareDockerRegistry(config: InstallConfig, stateDir: string): Promise<PreparedDockerRegistry> {
  const registry = registryOf(config);
  try {
    await ensureRegistrySigningKey(registry.signingKey, registryCertificateFile(registry.signingKey), config.cluster.name);
  } catch (error) {
    throw new CliError(`cluster '${config.cluster.name}': ${(error as Error).message}`);
  }
  const configFile = path.resolve(stateDir, 'registry', config.cluster.name, 'config.yml');
  await mkdir(path.dirname(configFile), { recursive: true, mode: 0o700 });
  await writeFile(configFile, renderRegistryConfig(config, bindAddressOf(config), registryTokenAuthOf(config)));
  const storage = config.storage.kind === 'local' ? displayPath(path.join(config.storage.path, 'registry')) : `${config.storage.kind} bucket ${config.storage.bucket}, under /registry`;
  return { configFile, localUrl: `http://127.0.0.1:${registry.port}`, url: registry.url, storage };
}

/** True when the registry at `url` answers `GET /v2/` (401, asking for a token, is an answer). */
export async function isDockerRegistryServing(url: string): Promise<boolean> {
  return (await probe(`${url}/v2/`, { timeoutMs: PROBE_TIMEOUT_MS, accept: (status) => status === 200 || status === 401 })).ok;
}
