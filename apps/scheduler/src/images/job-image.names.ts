import type { BuildRepository, Job, ProjectRepository } from '@infrabox/jobs';

/** Where a `docker` job's image goes in this cluster's registry. */
export interface BuiltImageName {
  /** `<registry host>/<project>/<job name>:build_<number>`: what the engine tags the build. */
  name: string;
  /** `<project>/<job name>` */
  repository: string;
  /** `build_<number>` */
  tag: string;
  /** The job's project (its token's claim). */
  projectId: string;
}

/** The name a `docker` job's image is built as: `<this cluster's registry>/<project>/<job name>:build_<number>`. */
export class JobImageNames {
  constructor(
    private readonly builds: BuildRepository,
    private readonly projects: ProjectRepository,
    /** host:port of this cluster's registry. */
    readonly registryHost: string,
  ) {}

  async builtName(job: Job): Promise<BuiltImageName> {
    const build = await this.buildOf(job);
    const project = await this.projects.findById(build.projectId);
    if (!project) throw new Error(`project ${build.projectId} not found`);
    const name = builtImageName(this.registryHost, project.name, job.name, build.number);
    const colon = name.lastIndexOf(':');
    return { name, repository: name.slice(this.registryHost.length + 1, colon), tag: name.slice(colon + 1), projectId: build.projectId };
  }

  async projectIdOf(job: Job): Promise<string> {
    return (await this.buildOf(job)).projectId;
  }

  private async buildOf(job: Job) {
    const build = await this.builds.findById(job.buildId);
    if (!build) throw new Error(`build ${job.buildId} not found`);
    return build;
  }
}

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
