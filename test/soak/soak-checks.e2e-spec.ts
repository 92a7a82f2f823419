import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createPool, Database, migrate } from '@infrabox/database';
import { checkSoak } from '../../bench/soak/soak.checks';
import { createScratchDatabase, openDatabase } from '../support/database';

/** The soak's end checks count each kind of fault they exist to find (on a scratch database). */
describe('the soak’s end checks', () => {
  let db: Database;
  let client: Client;
  let dir: string;

  beforeAll(async () => {
    db = openDatabase();
    const url = await createScratchDatabase(db);
    const pool = createPool(url);
    await migrate(pool);
    await pool.end();
    client = new Client({ connectionString: url });
    await client.connect();
    dir = await mkdtemp(path.join(tmpdir(), 'soak-checks-'));
  });
  afterAll(async () => {
    await client.end();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('counts lost jobs, double runs, bad inputs and unhandled events, and explains what the faults explain', async () => {
    const q = (sql: string, params: unknown[] = []) => client.query(sql, params);
    await q(`INSERT INTO cluster (name, api_url) VALUES ('c1', 'http://c1'), ('c2', 'http://c2')`);
    const [{ id: projectId }] = (await q(`INSERT INTO project (name) VALUES ('p') RETURNING id`)).rows;
    const [{ id: buildId }] = (await q(`INSERT INTO build (project_id, number) VALUES ($1, 1) RETURNING id`, [projectId])).rows;
    const killedAt = new Date(Date.now() - 60_000);
    const restartedAt = new Date(Date.now() - 50_000);
    const job = async (name: string, state: string, cluster: string, startedAt: Date | null = new Date(Date.now() - 70_000), message: string | null = null) =>
      (
        await q(`INSERT INTO job (build_id, name, type, definition, state, cluster_name, started_at, message) VALUES ($1, $2, 'docker-image', '{}', $3, $4, $5, $6) RETURNING id`, [
          buildId,
          name,
          state,
          cluster,
          startedAt,
          message,
        ])
      ).rows[0].id as string;
    const recovered = 'the scheduler running it was lost: runner r1 (pid 4242 on host, cluster c1) sent no heartbeat since …';
    const a = await job('a', 'finished', 'c1'); // ran twice
    const b = await job('b', 'finished', 'c2'); // child of a on another cluster: saw other bytes
    const c = await job('c', 'finished', 'c1'); // finished without running: lost
    const d = await job('d', 'error', 'c1', undefined, recovered); // running on c1 when it was killed: explained
    const h = await job('h', 'error', 'c1', undefined, 'exit code 1'); // in error on c1, but not by the recovery: lost
    const e = await job('e', 'skipped', 'c1', null); // its parent d did not finish: explained
    const f = await job('f', 'queued', 'c1', null); // its parent c ended, it never moved: lost
    const g = await job('g', 'finished', 'c2'); // child of a on another cluster: recorded no input
    const edge = (child: string, parent: string) => q(`INSERT INTO job_dependency (job_id, parent_job_id) VALUES ($1, $2)`, [child, parent]);
    for (const [child, parent] of [[b, a], [g, a], [e, d], [f, c]]) await edge(child, parent);

    // a's output: its source copy on c1, and a forwarded copy on c2 whose bytes differ.
    const sha = 'a'.repeat(64);
    await q(`INSERT INTO job_output (job_id, cluster_name, storage_key, size_bytes, sha256) VALUES ($1, 'c1', 'out/a', 5, $2), ($1, 'c2', 'out/a', 5, $2)`, [a, sha]);
    const storage = { c1: path.join(dir, 'c1'), c2: path.join(dir, 'c2') };
    await mkdir(path.join(storage.c2, 'objects', 'out'), { recursive: true });
    await writeFile(path.join(storage.c2, 'objects', 'out', 'a'), 'bytes');

    // One event a consumer never handled, and one dead letter.
    const [{ id: eventId }] = (await q(`INSERT INTO event (type, cluster, payload) VALUES ('job.finished', NULL, '{}') RETURNING id`)).rows;
    await q(`INSERT INTO event_consumer (name) VALUES ('scheduler:c1:job.finished')`);
    await q(`INSERT INTO event_dead_letter (consumer, event_id, attempts, error) VALUES ('scheduler:c2:job.finished', $1, 8, 'boom')`, [eventId]);

    const executionsLog = path.join(dir, 'executions.log');
    const digestsLog = path.join(dir, 'digests.log');
    await writeFile(executionsLog, [a, a, b, g, d].map((id, i) => `${id} ${100 + i}`).join('\n') + '\n');
    await writeFile(digestsLog, `${a} out ${'1'.repeat(64)}\n${b} in a ${'2'.repeat(64)}\n`);

    const result = await checkSoak({
      client,
      executionsLog,
      digestsLog,
      storageDirs: new Map(Object.entries(storage)),
      kill: { cluster: 'c1', schedulerPid: 4242, killedAt, restartedAt },
    });

    expect(result).toMatchObject({ jobs: 8, lost: 3, doubleRuns: 1, badInputs: 3, unhandledEvents: 2, endedByKill: 1, forwardedCopies: 1 });
    expect(result.examples.join('\n')).toContain(`job ${c} (${buildId}/c) finished on c1, 0 run(s)`);
    expect(result.examples.join('\n')).toContain(`double run: job ${a} ran 2 times`);
    expect(result.examples.join('\n')).toContain(`job ${h} (${buildId}/h) error on c1, 0 run(s): exit code 1`);
  });
});
