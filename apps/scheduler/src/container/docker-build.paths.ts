import path from 'node:path';
import type { DockerJob } from '@infrabox/job-definition';

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
