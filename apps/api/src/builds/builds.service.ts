import { BadRequestException, Injectable, NotFoundException, Optional } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { forCluster, PgEventClient } from '@infrabox/events';
import { CurrentCluster, PROJECT_NAME_PATTERN } from '@infrabox/config';
import { validateBuildDefinitionReading } from '@infrabox/job-definition';
import {
  BUILD_CREATED,
  BuildCreatedEvent,
  BuildDto,
  BuildRepository,
  BuildSummaryDto,
  JobRepository,
  JobStatsRepository,
  Project,
  ProjectRepository,
  toBuildDto,
  toBuildSummaryDto,
} from '@infrabox/jobs';
import { ResolvedUpload, SourceUploadsService } from '../sources/source-uploads.service';

export const PROJECT_NAME = PROJECT_NAME_PATTERN;

/** `name` when it is a project name; else a 400 naming it (shown cut, without control characters). */
export function validProjectName(name: string): string {
  if (PROJECT_NAME.test(name)) return name;
  throw new BadRequestException(`project: '${name.slice(0, 120).replace(/[\x00-\x1f\x7f]/g, '?')}' is not a valid name (letters, digits, _ . -, at most 100)`);
}

/** How many of a refused definition's reasons the one-line `message` repeats (`errors` has all). */
const REASONS_IN_MESSAGE = 10;

@Injectable()
export class BuildsService {
  constructor(
    private readonly db: Database,
    private readonly projects: ProjectRepository,
    private readonly builds: BuildRepository,
    private readonly jobs: JobRepository,
    private readonly stats: JobStatsRepository,
    private readonly events: PgEventClient,
    /** This api's cluster, whose scheduler places the builds it takes. */
    private readonly cluster: CurrentCluster,
    /** Absent where builds are created without an api (benchmarks): no uploads there. */
    @Optional() private readonly uploads?: SourceUploadsService,
  ) {}

  /**
   * Validates an infrabox.json and creates the build with all its jobs and edges, announcing it
   * with `build.created` in the same transaction; a scheduler then places the jobs. With an
   * `uploadId` (from `PUT /api/v1/projects/:project/source` on this cluster), the upload becomes
   * the build's source here, recorded in the same transaction, and the files that workflow jobs
   * include are read from it (before the transaction), expanded as `infrabox validate` does. A
   * refused definition answers 400 with `errors`, one `#path: reason` line per problem.
   */
  async create(projectName: string, definitionInput: unknown, uploadId?: unknown): Promise<BuildDto> {
    validProjectName(projectName);
    if (definitionInput === undefined) throw new BadRequestException('definition: required (the infrabox.json content)');
    const upload = await this.resolveUpload(projectName, uploadId);
    const result = await validateBuildDefinitionReading(definitionInput, {
      readIncludes: async (paths) =>
        upload === undefined
          ? new Map(paths.map((path) => [path, new Error('no source was uploaded with the build (uploadId) to read it from')]))
          : this.uploads!.readFiles(upload, paths),
    });
    if (!result.ok) throw new BadRequestException({ statusCode: 400, message: refusal(result.errors), errors: result.errors });

    return this.db.transaction(async () => {
      const project = await this.projects.findOrCreate(projectName);
      const build = await this.builds.create(project.id);
      if (upload !== undefined) await this.uploads!.attach(upload, build.id);
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
      await this.events.emit(BUILD_CREATED, forCluster(this.cluster.name, event));
      return toBuildDto(build, project.name, jobs);
    });
  }

  /** The upload a new build names, of that project; a 400 naming it when there is no such upload. */
  private async resolveUpload(projectName: string, uploadId: unknown): Promise<ResolvedUpload | undefined> {
    if (uploadId === undefined || uploadId === null) return undefined;
    if (!this.uploads) throw new BadRequestException('uploadId: uploads are not accepted here');
    const project = await this.projects.findByName(projectName);
    return this.uploads.resolve(uploadId, project?.id ?? '');
  }

  /** The project named `name` (400 for a name no project can have). */
  findProject(name: string): Promise<Project | null> {
    return this.projects.findByName(validProjectName(name));
  }

  /** The project of a build (404 for an unknown build). */
  async projectOf(buildId: string): Promise<Project> {
    const build = await this.builds.findById(buildId);
    const project = build && (await this.projects.findById(build.projectId));
    if (!project) throw new NotFoundException(`build '${buildId}' not found`);
    return project;
  }

  async get(buildId: string): Promise<BuildDto> {
    const build = await this.builds.findById(buildId);
    if (!build) throw new NotFoundException(`build '${buildId}' not found`);
    const [project, jobs] = await Promise.all([this.projects.findById(build.projectId), this.jobs.findByBuild(build.id)]);
    return toBuildDto(build, project?.name ?? '', jobs);
  }

  /** The most recent builds of `projectIds` (null: of every project), each with its state and its jobs per state. */
  async recent(limit: number, projectIds: readonly string[] | null, before?: string): Promise<BuildSummaryDto[]> {
    const builds = await this.builds.findRecent(limit, projectIds, before);
    const counts = await this.stats.stateCountsOfBuilds(builds.map((b) => b.id));
    return builds.map((build) => toBuildSummaryDto(build, build.projectName, counts.get(build.id) ?? {}));
  }
}

/** `invalid infrabox.json (2 problems): #jobs[0].name: required; #jobs[1]…`, the first reasons only. */
function refusal(errors: readonly string[]): string {
  const shown = errors.slice(0, REASONS_IN_MESSAGE).join('; ');
  const more = errors.length > REASONS_IN_MESSAGE ? `; and ${errors.length - REASONS_IN_MESSAGE} more` : '';
  return `invalid infrabox.json (${errors.length} problem${errors.length === 1 ? '' : 's'}): ${shown}${more}`;
}
