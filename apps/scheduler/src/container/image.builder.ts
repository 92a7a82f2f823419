import path from 'node:path';
import type Docker from 'dockerode';
import { packDirectory } from '@infrabox/archive';
import { engineMessage, followEngineProgress } from '@infrabox/containers';
import type { DockerJob } from '@infrabox/job-definition';

/** Labels on every image a `docker` job built: which build and job (to tell them apart on an engine shared by clusters). */
export const IMAGE_LABELS = { buildId: 'infrabox.net/build-id', jobName: 'infrabox.net/job-name' } as const;

/** The image a `docker` job builds: `<registry>/<project>/<job name>:build_<number>`, in the names a registry takes. */
export function builtImageName(registryHost: string, project: string, jobName: string, buildNumber: number): string {
  const component = (text: string) =>
    text
      .toLowerCase()
      .replace(/[^a-z0-9._/-]+/g, '-')
      .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
      .replace(/\/+/g, '/') || 'x';
  return `${registryHost}/${component(project)}/${component(jobName)}:build_${buildNumber}`;
}

/** Where a `docker` job's build context and Dockerfile are in its source, or why they are not usable. */
export function buildPaths(contextRoot: string, job: Pick<DockerJob, 'name' | 'dockerFile' | 'buildContext'>): { context: string; dockerfile: string } | { error: string } {
  const context = path.resolve(contextRoot, job.buildContext ?? '.');
  const dockerfile = path.resolve(contextRoot, job.dockerFile);
  const inside = (root: string, file: string) => file === root || file.startsWith(`${root}${path.sep}`);
  if (!inside(contextRoot, context)) return { error: `job '${job.name}': build_context '${job.buildContext}' is outside the source` };
  if (!inside(context, dockerfile) || dockerfile === context) {
    return { error: `job '${job.name}': docker_file '${job.dockerFile}' must be a file inside the build context '${job.buildContext ?? '.'}'` };
  }
  return { context, dockerfile: path.relative(context, dockerfile) };
}

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
