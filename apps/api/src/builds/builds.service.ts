import { BadRequestException, Injectable, NotFoundException, Optional } from '@nestjs/common';
import { lastValueFrom } from 'rxjs';
import { Database } from '@infrabox/database';
import { forCluster, PgEventClient } from '@infrabox/events';
import { InjectInstallConfig, InstallConfig } from '@infrabox/config';
import { validateBuildDefinition } from '@infrabox/job-definition';
import { BUILD_CREATED, BuildCreatedEvent, BuildRepository, JobRepository, ProjectRepository } from '@infrabox/jobs';
import { SourceUploadsService } from '../sources/source-uploads.service';
import { BuildDto, toBuildDto } from './build.dto';

export const PROJECT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,99}$/;

@Injectable()
export class BuildsService {
  constructor(
    private readonly db: Database,
    private readonly projects: ProjectRepository,
    private readonly builds: BuildRepository,
    private readonly jobs: JobRepository,
    private readonly events: PgEventClient,
    /** Absent where builds are created without an api (benchmarks): no uploads there. */
    @Optional() private readonly uploads?: SourceUploadsService,
    /** This api's cluster, whose scheduler places the builds it takes; absent: every scheduler races to. */
    @Optional() @InjectInstallConfig() private readonly config?: InstallConfig,
  ) {}

  /**
   * Validates an infrabox.json and creates the build with all its jobs and edges, announcing it
   * with `build.created` in the same transaction; a scheduler then places the jobs. With an
   * `uploadId` (from `PUT /api/v1/projects/:project/source` on this cluster), the upload becomes
   * the build's source here, recorded in the same transaction.
   */
  async create(projectName: string, definitionInput: unknown, uploadId?: unknown): Promise<BuildDto> {
    if (!PROJECT_NAME.test(projectName)) {
      throw new BadRequestException(`project: '${projectName}' is not a valid name (letters, digits, _ . -, at most 100)`);
    }
    if (definitionInput === undefined) throw new BadRequestException('definition: required (the infrabox.json content)');
    const result = validateBuildDefinition(definitionInput);
    if (!result.ok) throw new BadRequestException({ statusCode: 400, message: 'invalid infrabox.json', errors: result.errors });

    return this.db.transaction(async () => {
      const project = await this.projects.findOrCreate(projectName);
      const build = await this.builds.create(project.id);
      if (uploadId !== undefined && uploadId !== null) {
        if (!this.uploads) throw new BadRequestException('uploadId: uploads are not accepted here');
        await this.uploads.attach(uploadId, project.id, build.id);
      }
      const jobs = await this.jobs.insertMany(build.id, result.definition.jobs);
      const idByName = new Map(jobs.map((j) => [j.name, j.id]));
      await this.jobs.insertDependencies(
        result.definition.jobs.flatMap((definition) =>
          definition.dependsOn.map((d) => ({ jobId: idByName.get(definition.name)!, parentId: idByName.get(d.job)!, on: d.on })),
        ),
      );
      // Scoped to this cluster: its scheduler places the build. Offered to every scheduler, each
      // of 100 clusters would run a placement transaction per build only to find it taken. If
      // this cluster runs no scheduler, the placement sweep of another one takes the build.
      const event: BuildCreatedEvent = { buildId: build.id };
      await lastValueFrom(this.events.emit(BUILD_CREATED, this.config ? forCluster(this.config.cluster.name, event) : event));
      return toBuildDto(build, project.name, jobs);
    });
  }

  async get(buildId: string): Promise<BuildDto> {
    const build = await this.builds.findById(buildId);
    if (!build) throw new NotFoundException(`build '${buildId}' not found`);
    const [project, jobs] = await Promise.all([this.projects.findById(build.projectId), this.jobs.findByBuild(build.id)]);
    return toBuildDto(build, project?.name ?? '', jobs);
  }

  async recent(limit: number): Promise<BuildDto[]> {
    return (await this.builds.findRecent(limit)).map((b) => toBuildDto(b, b.projectName));
  }
}
