import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { InstallConfig } from '@infrabox/config';
import type { Database } from '@infrabox/database';
import type { PgEventClient } from '@infrabox/events';
import type { Job, JobConsoleRepository, JobRepository, JobTransitions } from '@infrabox/jobs';
import type { JobFilesService } from '../job-files/job-files.service';
import type { RunnerLease } from '../recovery/runner-lease.service';
import type { JobExecutor } from './job-executor';
import { JobRunner } from './job-runner.service';

describe('JobRunner recording a job’s end', () => {
  let workRoot: string;
  beforeEach(async () => (workRoot = await mkdtemp(path.join(tmpdir(), 'job-runner-'))));
  afterEach(() => rm(workRoot, { recursive: true, force: true }));

  const job: Job = {
    id: '00000000-0000-4000-8000-000000000001',
    buildId: '00000000-0000-4000-8000-000000000002',
    name: 'compile',
    type: 'docker-image',
    state: 'queued',
    definition: { type: 'docker-image', name: 'compile', image: 'none', command: ['true'] } as unknown as Job['definition'],
    cluster: 'w1',
    message: null,
    exitCode: null,
    createdAt: new Date(),
    startedAt: null,
    finishedAt: null,
  };

  it('writes the end of a job that ran once the database is back, instead of leaving it running', async () => {
    const end = jest
      .fn()
      .mockRejectedValueOnce(new Error('Connection terminated unexpectedly'))
      .mockRejectedValueOnce(new Error('connect ECONNREFUSED 127.0.0.1:5432'))
      .mockResolvedValueOnce({ ...job, state: 'finished' });
    const transitions = { start: jest.fn().mockResolvedValue({ ...job, state: 'running' }), end } as unknown as JobTransitions;
    const executor: JobExecutor = { run: jest.fn().mockResolvedValue({ exitCode: 0 }) };
    const files = { unpackInputs: jest.fn(), unpackSource: jest.fn(), storeOutput: jest.fn().mockResolvedValue(undefined) } as unknown as JobFilesService;
    const runner = new JobRunner(
      {} as Database,
      {} as JobRepository,
      transitions,
      {} as JobConsoleRepository,
      files,
      {} as PgEventClient,
      { id: 'runner-1', release: jest.fn() } as unknown as RunnerLease,
      { cluster: { name: 'w1' } } as InstallConfig,
      { workRoot, maxParallelJobs: 2, sweepIntervalMs: 5_000, unplacedAfterSeconds: 5 },
      executor,
    );

    runner.enqueueFound([{ job, parents: [], source: { required: false, here: false } }]);
    const deadline = Date.now() + 5_000;
    while (end.mock.calls.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));

    expect(executor.run).toHaveBeenCalledTimes(1);
    expect(end).toHaveBeenCalledTimes(3);
    for (const call of end.mock.calls) expect(call.slice(0, 3)).toEqual([job.id, ['running'], 'finished']);
    await runner.onApplicationShutdown();
  });
});
