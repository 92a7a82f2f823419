/**
 * bench:scale — how placement and the event backbone grow with the number of clusters.
 *
 *   npm run bench:scale [-- --clusters 10,30,100] [--jobs 10000] [--repeat 2] [--direct] [--pooler-size 20]
 *
 * The apps' pools go through a real PgBouncer in transaction mode (Debian's package; only the
 * LISTEN connections direct), as a large installation runs; `--direct` connects them directly.
 *
 * For each cluster count: a fresh database on one embedded PostgreSQL, the simulated clusters
 * (bench/scale: real registration, placement and event code, one pool and one LISTEN
 * connection per cluster app, spread over 4 host processes), a warm-up backlog of a tenth of
 * the jobs placed and delivered first (not measured: the apps and their server backends have
 * just started), then 10,000 queued jobs with selectors committed at once. Measured: time until every job's job.placed was handled by its
 * cluster; event handler invocations per second in that window; the apps' connections in
 * pg_stat_activity. Growth = cost per job at the largest count / at the smallest.
 */
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPool, Database, migrate, startEmbeddedPostgres } from '@infrabox/database';
import { round, runBenchmark } from './bench-database';
import { RunningPgBouncer, startPgBouncer } from './pgbouncer.launcher';
import { runScaleSimulation, ScaleRunResult } from './scale/scale-simulation';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Direct connections of an app: its pool (createPool's default) and its one LISTEN connection; behind the pooler, the LISTEN connection only. */
const DIRECT_PER_APP_LIMIT = { direct: 5 + 1, pooled: 1 };

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function serverPorts(bouncer: RunningPgBouncer): Promise<Set<number>> {
  return new Set((await bouncer.show('SERVERS')).map((s) => Number(s.local_port)));
}

async function freshDatabase(admin: Database, name: string): Promise<string> {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  const url = withDatabase(admin.url, name);
  const pool = createPool(url, 1);
  await migrate(pool);
  await pool.end();
  return url;
}

function check(result: ScaleRunResult): string[] {
  const problems: string[] = [];
  for (const p of result.placements) {
    const labels = p.cluster ? result.clusterLabels.get(p.cluster) ?? [] : [];
    if (p.state !== 'queued' || !p.cluster) problems.push(`job ${p.jobId} is ${p.state} on ${p.cluster ?? 'no cluster'}`);
    else if (!p.selector.every((l) => labels.includes(l))) problems.push(`job ${p.jobId} on ${p.cluster} lacks [${p.selector}]`);
    else if (p.deliveredTo.length !== 1 || p.deliveredTo[0] !== p.cluster) problems.push(`job ${p.jobId} delivered to [${p.deliveredTo}]`);
  }
  return problems.slice(0, 5);
}

async function main(): Promise<void> {
  const counts = option('clusters', '10,30,100').split(',').map(Number);
  const jobs = Number(option('jobs', '10000'));
  const repeat = Number(option('repeat', '2'));
  const dataDir = await mkdtemp(path.join(tmpdir(), 'infrabox-bench-scale-'));
  const server = await startEmbeddedPostgres({
    dataDir,
    port: 54000 + Math.floor(Math.random() * 900),
    // Room for 100 apps × (pool of 5 + 1 listener); everything else at its default (fsync on).
    settings: { max_connections: '800' },
  });
  const admin = new Database(createPool(server.url, 1), server.url);
  const poolerSize = Number(option('pooler-size', '20'));
  const bouncer: RunningPgBouncer | null = process.argv.includes('--direct') ? null : await startPgBouncer(server.url, { poolSize: poolerSize });
  const limit = bouncer ? DIRECT_PER_APP_LIMIT.pooled : DIRECT_PER_APP_LIMIT.direct;
  console.log(
    `bench:scale on embedded PostgreSQL 18 (fsync on, max_connections 800); ${jobs} queued jobs; clusters ${counts.join(', ')}; ` +
      `${repeat} round(s), the fastest run of each count kept (the machine is shared); ` +
      (bouncer ? `pools through PgBouncer (transaction mode, ${poolerSize} server connections), LISTEN direct` : 'every connection direct'),
  );
  const best = new Map<number, ScaleRunResult>();
  try {
    for (let round = 1; round <= repeat; round++) {
      for (const clusters of counts) {
        const url = await freshDatabase(admin, `scale_${clusters}`);
        const result = await runScaleSimulation({
          databaseUrl: url,
          ...(bouncer ? { pooler: { url: withDatabase(bouncer.url, `scale_${clusters}`), serverPorts: () => serverPorts(bouncer) } } : {}),
          clusters,
          jobs,
          warmupJobs: Math.ceil(jobs / 10 / 100) * 100,
          hostScript: path.join(__dirname, 'scale', 'scale-host.js'),
        });
        const problems = check(result);
        if (problems.length > 0) throw new Error(`${clusters} clusters: wrong placements, e.g. ${problems.join('; ')}`);
        if (!best.has(clusters) || result.placeMs < best.get(clusters)!.placeMs) best.set(clusters, result);
        console.log(
          `  round ${round}, ${clusters} clusters: placed ${jobs} jobs in ${result.placeMs} ms, ${Math.round(result.eventsPerSecond)} events/s, ` +
            `peak ${result.peakConnections} direct connections (busiest app ${result.peakConnectionsPerApp}), ${result.peakPoolerConnections} of PgBouncer`,
        );
        await admin.query(`DROP DATABASE scale_${clusters} WITH (FORCE)`);
      }
    }
  } finally {
    await admin.close();
    await bouncer?.stop();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }

  const results = counts.map((clusters) => best.get(clusters)!);
  const first = results[0];
  const last = results[results.length - 1];
  console.log('');
  console.log('clusters | jobs   | place ms | µs/job  | events handled | events/s | direct (peak) | direct/app (peak) | PgBouncer (peak)');
  for (const r of results) {
    console.log(
      [
        String(r.clusters).padStart(8),
        String(r.jobs).padEnd(6),
        String(r.placeMs).padStart(8),
        String(Math.round((r.placeMs * 1000) / r.jobs)).padStart(7),
        String(r.eventsDelivered).padStart(14),
        String(Math.round(r.eventsPerSecond)).padStart(8),
        String(r.peakConnections).padStart(13),
        String(r.peakConnectionsPerApp).padStart(17),
        String(r.peakPoolerConnections).padStart(16),
      ].join(' | '),
    );
  }
  const growth = last.placeMs / last.jobs / (first.placeMs / first.jobs);
  const perApp = Math.max(...results.map((r) => r.peakConnectionsPerApp));
  console.log('');
  // A simulated cluster is one app (registration and placement in one process).
  console.log(`direct connections per cluster (one app each): at most ${perApp} (limit ${limit}: ${bouncer ? '1 LISTEN; the pool through PgBouncer' : '1 LISTEN + a pool of 5'}), at every cluster count`);
  console.log(`goals: direct connections per app ≤ ${limit}: ${perApp <= limit ? 'met' : 'MISSED'}; growth ≤ 1.5: ${growth <= 1.5 ? 'met' : 'MISSED'} (${round(growth, 2)})`);
  console.log(
    `scale clusters=${last.clusters} place_ms=${last.placeMs} events_per_s=${Math.round(last.eventsPerSecond)} pg_connections=${last.peakConnections + last.peakPoolerConnections} ` +
      `direct_per_cluster=${round(last.peakConnections / last.clusters, 2)} pgbouncer_servers=${last.peakPoolerConnections} growth=${round(growth, 2)}`,
  );
}

runBenchmark('bench:scale', main);
