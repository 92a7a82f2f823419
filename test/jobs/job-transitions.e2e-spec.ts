import { ClusterRepository } from '@infrabox/clusters';
import { Database } from '@infrabox/database';
import { EventRepository, PgEventClient } from '@infrabox/events';
import { parseBuildDefinition } from '@infrabox/job-definition';
import { ArtifactCopyRepository, BuildRepository, JobPlacementRepository, JobRepository, JobTransitionRepository, JobTransitions, ProjectRepository } from '@infrabox/jobs';
import { uniqueClusterName } from '../support/clusters';
import { openDatabase } from '../support/database';

describe('JobTransitions (group-committed job state changes)', () => {
  let db: Database;
  let jobs: JobRepository;
  let transitions: JobTransitions;
  const cluster = uniqueClusterName('jt');

  beforeAll(async () => {
    db = openDatabase();
    jobs = new JobRepository(db);
    transitions = new JobTransitions(db, new JobTransitionRepository(db), new ArtifactCopyRepository(db), new PgEventClient(new EventRepository(db)));
    await new ClusterRepository(db).register({ name: cluster, labels: [], apiUrl: 'http://127.0.0.1:1' });
  });
  afterAll(() => db.close());

  async function queuedJobs(count: number): Promise<string[]> {
    const definition = parseBuildDefinition({
      version: 1,
      jobs: Array.from({ length: count }, (_, i) => ({ name: `j${i}`, type: 'docker-image', image: 'x', command: ['true'] })),
    });
    return db.transaction(async () => {
      const project = await new ProjectRepository(db).findOrCreate('transitions');
      const build = await new BuildRepository(db).create(project.id);
      const created = await jobs.insertMany(build.id, definition.jobs);
      for (const job of created) await new JobPlacementRepository(db).place(job.id, cluster);
      return created.map((j) => j.id);
    });
  }

  const eventsFor = (jobId: string) =>
    db.query<{ type: string }>(`SELECT type FROM event WHERE payload->>'jobId' = $1 ORDER BY id`, [jobId]);

  it('starts a job asked for twice at once exactly once, with one event', async () => {
    const [first, id] = await queuedJobs(2);
    // The first change commits alone; the three asks for `id` gather into the next batch.
    const [, ...results] = await Promise.all([
      transitions.start(first, cluster),
      transitions.start(id, cluster),
      transitions.start(id, cluster),
      transitions.start(id, cluster),
    ]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect(await eventsFor(id)).toEqual([{ type: 'job.started' }]);
  });

  it('commits many concurrent changes, each exactly once, with their events', async () => {
    const ids = await queuedJobs(200);
    const started = await Promise.all(ids.map((id) => transitions.start(id, cluster)));
    expect(started.every((job) => job?.state === 'running')).toBe(true);
    const ended = await Promise.all(ids.map((id, i) => transitions.end(id, ['running'], i % 2 ? 'finished' : 'failure', { exitCode: i % 2 ? 0 : 1 })));
    expect(ended.map((job) => job?.state)).toEqual(ids.map((_, i) => (i % 2 ? 'finished' : 'failure')));
    const again = await transitions.end(ids[0], ['running'], 'finished');
    expect(again).toBeNull();
    const counts = await db.query<{ type: string; n: number }>(
      `SELECT type, count(*)::int AS n FROM event WHERE payload->>'jobId' = ANY($1::text[]) GROUP BY type ORDER BY type`,
      [ids],
    );
    expect(counts).toEqual([
      { type: 'job.finished', n: 200 },
      { type: 'job.started', n: 200 },
    ]);
  });

  it('does not start a job placed on another cluster', async () => {
    const [id] = await queuedJobs(1);
    expect(await transitions.start(id, 'some-other-cluster')).toBeNull();
    expect((await jobs.findById(id))!.state).toBe('queued');
  });

  it('inside a caller transaction, changes commit or roll back with it', async () => {
    const [id] = await queuedJobs(1);
    await expect(
      db.transaction(async () => {
        expect(await transitions.end(id, ['queued'], 'killed')).not.toBeNull();
        throw new Error('caller failed');
      }),
    ).rejects.toThrow('caller failed');
    expect((await jobs.findById(id))!.state).toBe('queued');
    expect(await eventsFor(id)).toEqual([]);
  });
});
