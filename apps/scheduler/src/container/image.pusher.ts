import type Docker from 'dockerode';
import { engineMessage, followEngineProgress, type RegistryCredentials } from '@infrabox/containers';
import type { BuiltImageName } from '../images/job-image.names';

/** Pushes the image the engine built as `built` to this cluster's registry; null when pushed, else the reason. */
export async function pushImage(
  docker: Docker,
  registryUrl: string,
  built: BuiltImageName,
  credentials: RegistryCredentials,
  signal: AbortSignal,
): Promise<string | null> {
  const host = new URL(registryUrl).host;
  try {
    const stream = await docker.getImage(`${host}/${built.repository}`).push({
      tag: built.tag,
      authconfig: { ...credentials, serveraddress: host },
      // Podman's service reads it (the cluster's registry speaks plain HTTP on loopback); dockerd ignores it.
      tlsVerify: false,
      abortSignal: signal,
    } as Docker.ImagePushOptions);
    await followEngineProgress(docker, stream);
    return null;
  } catch (error) {
    if (signal.aborted) return 'aborted';
    return `${engineMessage(error)}${hint(engineMessage(error), registryUrl)}`;
  }
}

/** What to do about the engine's usual complaints about a cluster's registry. */
function hint(message: string, registryUrl: string): string {
  if (/HTTP response to HTTPS client/i.test(message)) {
    return ` (the engine expects HTTPS: list ${new URL(registryUrl).host} as an insecure registry — registries.conf for Podman, "insecure-registries" for dockerd)`;
  }
  if (/connection refused|ECONNREFUSED/i.test(message)) return ` (is this cluster's registry running at ${registryUrl}?)`;
  return '';
}
