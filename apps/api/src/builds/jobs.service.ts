import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { forCluster, PgEventClient } from '@infrabox/events';
import {
  BuildRepository,
  ConsoleChunk,
  isFinal,
  JOB_ABORT_REQUESTED,
  JobAbortRequestedEvent,
  JobConsoleRepository,
  JobRepository,
  JobDto,
  JobTransitions,
  Project,
  ProjectRepository,
  toJobDto,
} from '@infrabox/jobs';

@Injectable()
export class JobsService {
  constructor(
    private readonly db: Database,
    private readonly jobs: JobRepository,
    private readonly builds: BuildRepository,
    private readonly projects: ProjectRepository,
    private readonly consoles: JobConsoleRepository,
    private readonly transitions: JobTransitions,
    private readonly events: PgEventClient,
  ) {}

  async get(jobId: string): Promise<JobDto> {
    const job = await this.jobs.findById(jobId);
    if (!job) throw new NotFoundException(`job '${jobId}' not found`);
    return toJobDto(job);
  }

  /** The project the job belongs to (404 for an unknown job). */
  async projectOf(jobId: string): Promise<Project> {
    const job = await this.jobs.findById(jobId);
    const build = job && (await this.builds.findById(job.buildId));
    const project = build && (await this.projects.findById(build.projectId));
    if (!project) throw new NotFoundException(`job '${jobId}' not found`);
    return project;
  }

  async console(jobId: string, afterSeq: number): Promise<ConsoleChunk[]> {
    await this.get(jobId);
    return this.consoles.readAfter(jobId, afterSeq);
  }

  /**
   * A queued job is killed here and now; a job that a scheduler holds is killed by that
   * scheduler, which is asked through an event scoped to its cluster.
   */
  async abort(jobId: string): Promise<JobDto> {
    return this.db.transaction(async () => {
      const job = await this.jobs.findById(jobId);
      if (!job) throw new NotFoundException(`job '${jobId}' not found`);
      if (isFinal(job.state)) throw new ConflictException(`job '${job.name}' has already ended (${job.state})`);
      const killed = await this.transitions.end(job.id, ['queued'], 'killed', { message: 'aborted' });
      if (killed) return toJobDto(killed);
      const request: JobAbortRequestedEvent = { jobId: job.id };
      await this.events.emit(JOB_ABORT_REQUESTED, forCluster(job.cluster!, request));
      return toJobDto(job);
    });
  }
}
