import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { parseInstallConfig } from '@infrabox/config';
import { Database } from '@infrabox/database';
import type { JobDefinition } from '@infrabox/job-definition';
import { BuildRepository, JOB_PLACED, JobPlacementRepository, JobRepository, ParentLink, ProjectRepository } from '@infrabox/jobs';
import { JobFilesService } from '../../apps/scheduler/src/job-files/job-files.service';
import { RunnerLease } from '../../apps/scheduler/src/recovery/runner-lease.service';
import { SchedulerModule } from '../../apps/scheduler/src/scheduler.module';
import { authSection, quietRegistryOptions, startRegistry, uniqueClusterName } from '../support/clusters';
import { databaseUrl, openDatabase } from '../support/database';
import { PROCESS_EXECUTOR } from '../support/installation';

/**
 * A scheduler stopped while it prepares a job it claimed (its inputs still unpacking) never
 * launches it: the job goes back to `queued`, announced with `job.placed` for another scheduler.
 * In-process, so that the stop lands exactly in that window.
 */
describe('scheduler stop: a claimed job not yet launched is handed back to the queue', () => {
  const name = uniqueClusterName('handback');
  let dir: string;
  let db: Database;
  let registry: INestApplication;
  let scheduler: INestApplication | null = null;

  beforeAll(async () => {
    db = openDatabase(2);
    dir = await mkdtemp(path.join(tmpdir(), 'infrabox-handback-'));
  });

  afterAll(async () => {
    await scheduler?.close();
    await registry?.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves the job queued with no runner, emits job.placed, and runs nothing', async () => {
    const config = parseInstallConfig(
      `host: http://127.0.0.1:1\ncluster:\n  name: ${name}\nstorage:\n  local:\n    enabled: true\n    path: ${dir}/storage\nha:\n  shutdown_grace_seconds: 1\n${PROCESS_EXECUTOR}${authSection(name)}`,
      { DATABASE_URL: databaseUrl() },
    );
    registry = await startRegistry(config, quietRegistryOptions());

    // Inputs that unpack until the test lets them.
    let unpacking!: () => void;
    const unpackStarted = new Promise<void>((resolve) => (unpacking = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const slowFiles = {
      stageInputs: async (_staging: unknown, _parents: readonly ParentLink[]) => {
        unpacking();
        await released;
      },
      stageSource: async () => undefined,
      storeOutput: async () => {
        throw new Error('the job must never run');
      },
    };
    const moduleRef = await Test.createTestingModule({ imports: [SchedulerModule.forConfig(config, { sweepIntervalMs: 100, workRoot: path.join(dir, 'work') })] })
      .overrideProvider(JobFilesService)
      .useValue(slowFiles)
      .compile();
    scheduler = moduleRef.createNestApplication({ logger: ['error'] });
    await scheduler.init();
    const runnerId = scheduler.get(RunnerLease).id;

    const project = await scheduler.get(ProjectRepository).findOrCreate('handback');
    const build = await scheduler.get(BuildRepository).create(project.id);
    const definition = { name: 'never', type: 'docker-image', image: 'alpine', command: ['sh', '-c', `touch ${dir}/ran`] } as unknown as JobDefinition;
    const [job] = await scheduler.get(JobRepository).insertMany(build.id, [definition]);
    await scheduler.get(JobPlacementRepository).place(job.id, name);

    await unpackStarted; // claimed by the sweep, preparing
    const [claimed] = await db.query<{ state: string; runner_id: string }>(`SELECT state, runner_id FROM job WHERE id = $1`, [job.id]);
    expect(claimed).toEqual({ state: 'running', runner_id: runnerId });

    const closing = scheduler.close(); // its first step marks the runner stopping
    setTimeout(release, 500); // then the preparation ends, at the launch point
    await closing;
    scheduler = null;

    const [after] = await db.query<{ state: string; runner_id: string | null; started_at: Date | null }>(
      `SELECT state, runner_id, started_at FROM job WHERE id = $1`,
      [job.id],
    );
    expect(after).toEqual({ state: 'queued', runner_id: null, started_at: null });
    const placed = await db.query<{ payload: { jobId: string; cluster: string } }>(
      `SELECT payload FROM event WHERE type = $1 AND payload->>'jobId' = $2`,
      [JOB_PLACED, job.id],
    );
    expect(placed.map((e) => e.payload)).toEqual([expect.objectContaining({ jobId: job.id, cluster: name })]);
    const [{ n }] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM scheduler_runner WHERE id = $1`, [runnerId]);
    expect(n).toBe(0);
    await expect(access(path.join(dir, 'ran'))).rejects.toThrow(); // the command never ran
  }, 60_000);
});
