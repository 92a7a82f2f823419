import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { parseInstallConfig } from '@infrabox/config';
import type { JobDefinition } from '@infrabox/job-definition';
import { BuildRepository, JobRepository, ProjectRepository } from '@infrabox/jobs';
import { SchedulerModule } from '../../apps/scheduler/src/scheduler.module';
import { authSection, quietRegistryOptions, startRegistry, uniqueClusterName } from '../support/clusters';
import { databaseUrl, eventually } from '../support/database';
import { PROCESS_EXECUTOR } from '../support/installation';

/**
 * The safety net behind build.created: a build whose announcement no scheduler handled (its
 * api's cluster runs none, or the scheduler died mid-placement) is placed by the periodic sweep.
 */
describe('the unplaced-build sweep', () => {
  const name = uniqueClusterName('sweep');
  let dir: string;
  let registry: INestApplication;
  let scheduler: INestApplication;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'infrabox-sweep-'));
    const config = parseInstallConfig(
      `host: http://127.0.0.1:1\ncluster:\n  name: ${name}\n  labels: [only-${name}]\nstorage:\n  local:\n    enabled: true\n    path: ${dir}/storage\n${PROCESS_EXECUTOR}${authSection(name)}`,
      { DATABASE_URL: databaseUrl() },
    );
    registry = await startRegistry(config, quietRegistryOptions());
    const moduleRef = await Test.createTestingModule({
      imports: [SchedulerModule.forConfig(config, { sweepIntervalMs: 100, unplacedAfterSeconds: 0, workRoot: path.join(dir, 'work') })],
    }).compile();
    scheduler = moduleRef.createNestApplication({ logger: ['error'] });
    await scheduler.init();
  });

  afterAll(async () => {
    await scheduler?.close();
    await registry?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('places the jobs of a build that was never announced, on a cluster carrying their selector', async () => {
    // Written straight to the tables: no build.created, so only the sweep can find it.
    const project = await scheduler.get(ProjectRepository).findOrCreate('sweep');
    const build = await scheduler.get(BuildRepository).create(project.id);
    const definition = { name: 'forgotten', type: 'docker-image', image: 'alpine', command: ['true'], cluster: { selector: [`only-${name}`] } };
    const [job] = await scheduler.get(JobRepository).insertMany(build.id, [definition as unknown as JobDefinition]);
    expect(job.cluster).toBeNull();

    await eventually(async () => (await scheduler.get(JobRepository).findById(job.id))?.cluster === name, 10_000, 'the sweep to place the job');
  });
});
