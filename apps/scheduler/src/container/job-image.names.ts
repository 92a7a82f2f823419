import type { BuildRepository, Job, ProjectRepository } from '@infrabox/jobs';
import { builtImageName } from './image.builder';

/** The name a `docker` job's image is built as: `<this cluster's registry>/<project>/<job name>:build_<number>`. */
export class JobImageNames {
  constructor(
    private readonly builds: BuildRepository,
    private readonly projects: ProjectRepository,
    /** host:port of this cluster's registry. */
    private readonly registryHost: string,
  ) {}

  async builtName(job: Job): Promise<string> {
    const build = await this.builds.findById(job.buildId);
    if (!build) throw new Error(`build ${job.buildId} not found`);
    const project = await this.projects.findById(build.projectId);
    if (!project) throw new Error(`project ${build.projectId} not found`);
    return builtImageName(this.registryHost, project.name, job.name, build.number);
  }
}
