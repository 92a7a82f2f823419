import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { currentClusterOf, type InstallConfig } from '@infrabox/config';
import type { Database } from '@infrabox/database';
import type { PgEventClient } from '@infrabox/events';
import type { Job, JobConsoleRepository, JobExecutionRepository, JobRepository, JobTransitions } from '@infrabox/jobs';
import { HostSandbox } from '../job-files/host-sandbox.service';
import type { JobFilesService } from '../job-files/job-files.service';
import type { RunnerLease } from '../recovery/runner-lease.service';
import { JobConsoleStore } from './job-console.store';
import { JobEndWriter } from './job-end.writer';
import type { JobExecutor } from './job-executor';
import { JobLifecycle } from './job-lifecycle.service';
import { JobSlots } from './job-slots.pool';
import { JobWakeupQueue } from './job-wakeup.queue';
import { RunnerShutdown } from './runner-shutdown.service';

describe('JobLifecycle recording a job’s end', () => {
  let workRoot: string;
  beforeEach(async () => (workRoot = await mkdtemp(path.join(tmpdir(), 'job-lifecycle-'))));
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

  function runnerWith(parts: { transitions: Partial<Record<keyof JobTransitions, jest.Mock>>; stageInputs?: jest.Mock }) {
    const files = {
      stageInputs: parts.stageInputs ?? jest.fn(),
      stageSource: jest.fn(),
      storeOutput: jest.fn().mockResolvedValue(undefined),
    } as unknown as JobFilesService;
    const options = { workRoot, maxParallelJobs: 2, sweepIntervalMs: 5_000, unplacedAfterSeconds: 5 };
    // The process executor's path, with a command that only counts its runs.
    const sandbox = new HostSandbox(files, options);
    const command = jest.fn().mockResolvedValue({ exitCode: 0 });
    const executor: JobExecutor = { run: (job, context) => sandbox.run(job, context, command) };
    const transitions = { start: jest.fn().mockResolvedValue({ ...job, state: 'running' }), ...parts.transitions } as unknown as JobTransitions;
    const lease = { id: 'runner-1', release: jest.fn() } as unknown as RunnerLease;
    const config = { cluster: { name: 'w1' } } as InstallConfig;
    const cluster = currentClusterOf(config);
    const slots = new JobSlots(options);
    const ends = new JobEndWriter(transitions, lease, slots, cluster);
    const consoles = new JobConsoleStore({} as Database, {} as JobConsoleRepository, {} as PgEventClient, cluster);
    const lifecycle = new JobLifecycle({} as JobExecutionRepository, transitions, lease, slots, ends, consoles, cluster, executor);
    const queue = new JobWakeupQueue({} as JobRepository, {} as JobExecutionRepository, transitions, slots, lifecycle, cluster);
    const shutdown = new RunnerShutdown(slots, queue, lease, config, cluster, executor);
    return { queue, shutdown, executor: { run: command } };
  }

  async function until(check: () => boolean): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  it('writes the end of a job that ran once the database is back, instead of leaving it running', async () => {
    const end = jest
      .fn()
      .mockRejectedValueOnce(new Error('Connection terminated unexpectedly'))
      .mockRejectedValueOnce(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))
      .mockResolvedValueOnce({ ...job, state: 'finished' });
    const { queue, shutdown, executor } = runnerWith({ transitions: { end } });

    queue.enqueueFound([{ job, parents: [], source: { required: false, here: false } }]);
    await until(() => end.mock.calls.length >= 3);

    expect(executor.run).toHaveBeenCalledTimes(1);
    expect(end).toHaveBeenCalledTimes(3);
    for (const call of end.mock.calls) expect(call.slice(0, 3)).toEqual([job.id, ['running'], 'finished']);
    await shutdown.onApplicationShutdown();
  });

  it('hands a job back to the queue when the database goes away while its inputs are prepared, never running it', async () => {
    const lost = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    const end = jest.fn();
    const requeue = jest.fn().mockRejectedValueOnce(lost).mockResolvedValueOnce([{ ...job, state: 'queued' }]);
    const { queue, shutdown, executor } = runnerWith({ transitions: { end, requeue }, stageInputs: jest.fn().mockRejectedValue(lost) });

    queue.enqueueFound([{ job, parents: [], source: { required: false, here: false } }]);
    await until(() => requeue.mock.calls.length >= 2);

    expect(requeue).toHaveBeenCalledTimes(2);
    expect(requeue).toHaveBeenLastCalledWith([job.id], 'runner-1');
    expect(executor.run).not.toHaveBeenCalled();
    expect(end).not.toHaveBeenCalled();
    await shutdown.onApplicationShutdown();
  });

  it('still ends a job in error when preparing it fails for a reason of its own', async () => {
    const end = jest.fn().mockResolvedValue({ ...job, state: 'error' });
    const requeue = jest.fn();
    const refused = new Error("archive entry '../escape' would escape the target folder");
    const { queue, shutdown, executor } = runnerWith({ transitions: { end, requeue }, stageInputs: jest.fn().mockRejectedValue(refused) });

    queue.enqueueFound([{ job, parents: [], source: { required: false, here: false } }]);
    await until(() => end.mock.calls.length >= 1);

    expect(end).toHaveBeenCalledWith(job.id, ['running'], 'error', { message: refused.message }, undefined);
    await expect(readdir(workRoot)).resolves.toEqual([]); // its folders are gone
    expect(requeue).not.toHaveBeenCalled();
    expect(executor.run).not.toHaveBeenCalled();
    await shutdown.onApplicationShutdown();
  });
});
