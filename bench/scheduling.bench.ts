/**
 * bench:scheduling — how fast a ready job starts running on its matching cluster, and how many
 * no-op jobs three clusters get through, beside graphile-worker on the same PostgreSQL.
 *
 *   npm run bench:scheduling [-- --database-url URL] [--chains N] [--jobs N]
 *
 * Ours: three scheduler processes (the real scheduler app with a no-op executor), one per cluster,
 * labels c0, c1, c2. Latency = a child's started_at − its parent's finished_at (both the
 * database's clock), over chains whose consecutive jobs sit on different clusters, so every
 * sample crosses clusters through the event backbone. Throughput = no-op jobs from the first
 * build's creation to the last job's end.
 * graphile-worker: one worker process (this one), concurrency 10; latency = add_job → task start.
 */
import 'reflect-metadata';
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Logger, makeWorkerUtils, run, Runner } from 'graphile-worker';
import { ClusterRepository } from '@infrabox/clusters';
import { createPool, Database } from '@infrabox/database';
import { benchBuilds } from './bench-builds';
import { openBenchDatabase, percentile, round, runBenchmark } from './bench-database';

const CLUSTERS = ['c0', 'c1', 'c2'];

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function noopJob(name: string, cluster: string, dependsOn?: string) {
  return {
    name,
    type: 'docker-image',
    image: 'none',
    command: ['true'],
    cluster: { selector: [cluster] },
    ...(dependsOn ? { depends_on: [dependsOn] } : {}),
  };
}

async function waitForBuildsToEnd(db: Database, buildIds: string[], timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [{ open }] = await db.query<{ open: number }>(
      `SELECT count(*)::int AS open FROM job WHERE build_id = ANY($1::uuid[]) AND state IN ('queued', 'scheduled', 'running')`,
      [buildIds],
    );
    if (open === 0) return;
    if (Date.now() > deadline) throw new Error(`${open} jobs still open`);
    await sleep(buildIds.length > 1 ? 250 : 5);
  }
}

async function ours(db: Database, chains: number, total: number) {
  const workRoot = await mkdtemp(path.join(tmpdir(), 'infrabox-bench-work-'));
  const clusters = new ClusterRepository(db);
  for (const name of CLUSTERS) await clusters.register({ name, labels: [name], apiUrl: 'http://127.0.0.1:1', capacity: 1000 });
  const schedulers: ChildProcess[] = CLUSTERS.map((name) =>
    spawn(process.execPath, [path.join(__dirname, 'scheduling-scheduler.js'), db.url, name, path.join(workRoot, name)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  await Promise.all(schedulers.map((child) => new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => d.toString().includes('READY') && resolve()))));
  const builds = benchBuilds(db, CLUSTERS[0]);
  try {
    // Latency: chains of 10 jobs hopping c0 → c1 → c2 → c0 …, one chain at a time.
    const latencyBuilds: string[] = [];
    for (let c = 0; c < chains; c++) {
      const jobs = Array.from({ length: 10 }, (_, i) => noopJob(`j${i}`, CLUSTERS[(c + i) % 3], i > 0 ? `j${i - 1}` : undefined));
      const build = await builds.create('bench-latency', { version: 1, jobs });
      latencyBuilds.push(build.id);
      await waitForBuildsToEnd(db, [build.id]);
    }
    const samples = await db.query<{ ms: number }>(
      `SELECT extract(epoch FROM child.started_at - parent.finished_at) * 1000 AS ms
         FROM job_dependency d JOIN job child ON child.id = d.job_id JOIN job parent ON parent.id = d.parent_job_id
        WHERE child.build_id = ANY($1::uuid[]) AND child.cluster_name <> parent.cluster_name`,
      [latencyBuilds],
    );
    const latencies = samples.map((s) => Number(s.ms)).sort((a, b) => a - b);

    // Throughput: builds of 100 independent no-op jobs spread over the three clusters, timed by
    // the database's clock from the first build's creation to the last job's end.
    const ids: string[] = [];
    for (let b = 0; b < total / 100; b++) {
      const jobs = Array.from({ length: 100 }, (_, i) => noopJob(`n${i}`, CLUSTERS[i % 3]));
      ids.push((await builds.create('bench-throughput', { version: 1, jobs })).id);
    }
    await waitForBuildsToEnd(db, ids);
    const [{ finished, seconds }] = await db.query<{ finished: number; seconds: number }>(
      `SELECT count(*) FILTER (WHERE state = 'finished')::int AS finished,
              extract(epoch FROM max(finished_at) - min(created_at))::float8 AS seconds
         FROM job WHERE build_id = ANY($1::uuid[])`,
      [ids],
    );
    if (finished !== total) throw new Error(`only ${finished} of ${total} jobs finished`);
    return { latencies, jobsPerSecond: total / seconds };
  } finally {
    for (const child of schedulers) child.kill('SIGTERM');
    await Promise.all(schedulers.map((child) => new Promise((resolve) => child.on('exit', resolve))));
    await rm(workRoot, { recursive: true, force: true });
  }
}

async function graphile(url: string, samples: number, total: number) {
  const started = new Map<string, number>();
  let completed = 0;
  const pgPool = createPool(url, 12);
  const runner: Runner = await run({
    pgPool,
    concurrency: 10,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: new Logger(() => () => undefined),
    taskList: {
      noop: async (payload) => {
        const key = (payload as { key?: string }).key;
        if (key) started.set(key, performance.now());
        completed++;
      },
    },
  });
  const utils = await makeWorkerUtils({ pgPool });
  try {
    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) {
      const key = `l${i}`;
      const t0 = performance.now();
      await utils.addJob('noop', { key });
      while (!started.has(key)) await sleep(0);
      latencies.push(started.get(key)! - t0);
    }
    completed = 0;
    const t0 = performance.now();
    for (let b = 0; b < total / 100; b++) {
      await utils.addJobs(Array.from({ length: 100 }, () => ({ identifier: 'noop', payload: {} })));
    }
    while (completed < total) await sleep(5);
    return { latencies: latencies.sort((a, b) => a - b), jobsPerSecond: total / ((performance.now() - t0) / 1000) };
  } finally {
    await utils.release();
    await runner.stop();
    await pgPool.end();
  }
}

async function main(): Promise<void> {
  const chains = Number(option('chains', '30'));
  const total = Number(option('jobs', '3000'));
  const database = await openBenchDatabase(process.argv.includes('--database-url') ? option('database-url', '') : undefined);
  const db = new Database(createPool(database.url, 4), database.url);
  console.log(`bench:scheduling on ${database.describe}; ${chains} chains of 10 for latency, ${total} no-op jobs for throughput`);
  try {
    const mine = await ours(db, chains, total);
    const theirs = await graphile(database.url, chains * 9, total);
    const p50 = percentile(mine.latencies, 50);
    const p99 = percentile(mine.latencies, 99);
    const gp50 = percentile(theirs.latencies, 50);
    console.log(`infrabox:        ready → running across clusters n=${mine.latencies.length} p50=${round(p50, 3)} ms p99=${round(p99, 3)} ms; ${Math.round(mine.jobsPerSecond)} no-op jobs/s on 3 clusters`);
    console.log(`graphile-worker: add → start n=${theirs.latencies.length} p50=${round(gp50, 3)} ms p99=${round(percentile(theirs.latencies, 99), 3)} ms; ${Math.round(theirs.jobsPerSecond)} no-op jobs/s (concurrency 10)`);
    console.log(`goals: p50 no worse than graphile's: ${p50 <= gp50 ? 'met' : 'MISSED'}; throughput no lower: ${mine.jobsPerSecond >= theirs.jobsPerSecond ? 'met' : 'MISSED'}`);
    console.log(
      `scheduling p50_ms=${round(p50, 3)} p99_ms=${round(p99, 3)} jobs_per_s=${Math.round(mine.jobsPerSecond)} graphile_p50_ms=${round(gp50, 3)} graphile_jobs_per_s=${Math.round(theirs.jobsPerSecond)}`,
    );
  } finally {
    await db.close();
    await database.stop();
  }
}

runBenchmark('bench:scheduling', main);
