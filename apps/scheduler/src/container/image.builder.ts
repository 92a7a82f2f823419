import type Docker from 'dockerode';
import { packDirectory } from '@infrabox/archive';
import { engineMessage, followEngineProgress } from '@infrabox/containers';

/** Labels on every image a `docker` job built: which build and job (to tell them apart on an engine shared by clusters). */
export const IMAGE_LABELS = { buildId: 'infrabox.net/build-id', jobName: 'infrabox.net/job-name' } as const;

/**
 * Builds a `docker` job's image through the engine's build API (dockerd, or Podman's service,
 * which builds with Buildah) from the job's source, streaming the build's output into the job's
 * console. Null when built, else the reason.
 */
export async function buildImage(
  docker: Docker,
  request: { tag: string; labels: Record<string, string>; context: string; dockerfile: string; buildArguments: Record<string, string>; target?: string },
  onOutput: (text: string) => void,
  signal: AbortSignal,
): Promise<string | null> {
  const packed = packDirectory(request.context);
  try {
    const stream = await docker.buildImage(packed.stream, {
      t: request.tag,
      dockerfile: request.dockerfile,
      labels: request.labels,
      buildargs: request.buildArguments,
      ...(request.target !== undefined && { target: request.target }),
      rm: true,
      forcerm: true,
      abortSignal: signal,
    } as Docker.ImageBuildOptions);
    await followEngineProgress(docker, stream, (event) => {
      if (event.stream) onOutput(event.stream);
    });
    return null;
  } catch (error) {
    return signal.aborted ? 'aborted' : engineMessage(error);
  } finally {
    packed.stream.destroy();
  }
}
