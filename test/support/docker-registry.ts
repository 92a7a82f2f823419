import { ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ensureRegistrySigningKey } from '@infrabox/auth';
import { type InstallConfig, registryCertificateFile, registryOf, registryTokenAuthOf, renderRegistryConfig } from '@infrabox/config';
import { craftTar } from './archive';
import { eventually } from './database';

/** Debian's CNCF distribution registry (`apt-get install docker-registry`; scripts/ensure-test-tools.sh installs it). */
export const DOCKER_REGISTRY = '/usr/bin/docker-registry';

export interface RunningDockerRegistry {
  /** `127.0.0.1:<port>`: what skopeo's `docker://` references start with. */
  host: string;
  url: string;
  output: string[];
  stop(): Promise<void>;
}

/**
 * A real docker-registry for cluster `config`, as `infrabox up` runs it: config.yml rendered by
 * renderRegistryConfig into `dir`, storing in the cluster's storage folder, trusting the
 * certificate of the cluster's signing key (created here when missing) and the cluster's api as
 * token service. Resolves once `/v2/` answers.
 */
export async function startDockerRegistry(config: InstallConfig, dir: string): Promise<RunningDockerRegistry> {
  const keyFile = registryOf(config).signingKey;
  await ensureRegistrySigningKey(keyFile, registryCertificateFile(keyFile), config.cluster.name);
  const configFile = path.join(dir, 'config.yml');
  await writeFile(configFile, renderRegistryConfig(config, '127.0.0.1', registryTokenAuthOf(config)));
  const child: ChildProcess = spawn(DOCKER_REGISTRY, ['serve', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const host = `127.0.0.1:${registryOf(config).port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${output.join('')}`);
      return (await fetch(`http://${host}/v2/`).then((r) => r.status, () => 0)) === 401;
    }, 15_000, 'docker-registry to answer /v2/');
  } catch (error) {
    await stop();
    throw error;
  }
  return { host, url: `http://${host}`, output, stop };
}

export interface SkopeoResult {
  code: number | null;
  stderr: string;
}

/** Runs `skopeo ARGS…` with no policy or auth files of the machine in the way. */
export function skopeo(args: string[], home: string): Promise<SkopeoResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('skopeo', ['--insecure-policy', ...args], {
      env: { PATH: process.env.PATH, HOME: home, XDG_RUNTIME_DIR: home, REGISTRY_AUTH_FILE: path.join(home, 'auth.json') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

/** How skopeo reports that distribution refused an action its token does not grant. */
export const REGISTRY_DENIED = /denied: requested access to the resource is denied/;

/**
 * A one-layer image (one small file) as an OCI layout in `dir`, tagged `latest`: what skopeo
 * copies from (`oci:<dir>:latest`) without any image from the internet.
 */
export async function writeOciImage(dir: string, text = 'hello from an InfraBox test image\n'): Promise<string> {
  const blobs = path.join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const blob = async (bytes: Buffer, mediaType: string) => {
    const digest = createHash('sha256').update(bytes).digest('hex');
    await writeFile(path.join(blobs, digest), bytes);
    return { mediaType, digest: `sha256:${digest}`, size: bytes.length };
  };
  const layerTar = await craftTar([{ name: 'hello.txt', content: text }]);
  const layer = await blob(layerTar, 'application/vnd.oci.image.layer.v1.tar');
  const diffId = layer.digest; // uncompressed: the layer's digest is its diff id
  const imageConfig = await blob(
    Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [diffId] } })),
    'application/vnd.oci.image.config.v1+json',
  );
  const manifest = await blob(
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: imageConfig, layers: [layer] })),
    'application/vnd.oci.image.manifest.v1+json',
  );
  await writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    path.join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }),
  );
  return dir;
}
