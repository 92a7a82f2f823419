import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { parseInstallConfig } from '@infrabox/config';
import { createPool, migrate, RunningPostgres, startEmbeddedPostgres } from '@infrabox/database';
import { mintAdminToken } from '../../apps/cli/src/admin/admin-token';
import { checkSoak, CheckResult, countUnhandledEvents, KillWindow } from './soak.checks';
import { freePort } from '../free-port';
import { SoakInstallation } from './soak.installation';
import { ListenerKiller } from './listener.killer';
import { EventStreamWatcher } from './event-stream.watcher';
import { BuildSpec, generateBuild, seededRandom } from './soak.workload';

export interface SoakOptions {
  jobs: number;
  jobsPerBuild: number;
  /** Jobs queued but not yet ended at most; more builds are pushed as they end. */
  maxInFlight: number;
  crossShare: number;
  /** One in this many output transfers is cut halfway. */
  cutEvery: number;
  listenerKillIntervalMs: number;
  /** Fractions of the jobs ended at which PostgreSQL is restarted and a worker is killed. */
  restartPostgresAt: number;
  killWorkerAt: number;
  workerDownMs: number;
  /** Give up waiting when no job has ended for this long. */
  stallMs: number;
  seed: number;
  keepDir: boolean;
  log: (line: string) => void;
}

export const DEFAULT_SOAK_OPTIONS: Omit<SoakOptions, 'log'> = {
  jobs: 10_000,
  jobsPerBuild: 50,
  maxInFlight: 4_000,
  // With the fan-ins' second parents this makes about 10% of all edges cross clusters.
  crossShare: 0.07,
  cutEvery: 10,
  listenerKillIntervalMs: 100,
  restartPostgresAt: 0.35,
  killWorkerAt: 0.6,
  workerDownMs: 10_000,
  stallMs: 120_000,
  seed: 7,
  keepDir: false,
};

export interface SoakResult extends CheckResult {
  seconds: number;
  chaos: {
    listenersTerminated: number;
    /** application_name → times terminated. */
    listenerVictims: Record<string, number>;
    postgresRestarts: number;
    workerKilled: string | null;
    workerRestarted: boolean;
    killedPids: number[];
    transfersCut: number;
  };
  /** The master api's event stream, kept open by a watcher (a dashboard) through the run. */
  eventStream: { messages: number; reconnects: number };
  crossEdges: number;
  edges: number;
  dir: string;
}

const WORKERS = [
  { name: 'soak-w1', label: 'SOAK1' },
  { name: 'soak-w2', label: 'SOAK2' },
  { name: 'soak-w3', label: 'SOAK3' },
];

/**
 * The soak: a master and three workers as processes on one PostgreSQL this run owns, builds
 * totalling `jobs` jobs, and a chaos driver from start to end; then the end checks.
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const started = Date.now();
  const log = (text: string) => options.log(`[soak +${((Date.now() - started) / 1000).toFixed(1)}s] ${text}`);
  const dir = await mkdtemp(path.join(tmpdir(), 'infrabox-soak-'));
  const executionsLog = path.join(dir, 'executions.log');
  const digestsLog = path.join(dir, 'digests.log');
  await writeFile(executionsLog, '');
  await writeFile(digestsLog, '');
  log(`folder ${dir}`);

  // Its own folder: PostgreSQL runs as the `postgres` user, who cannot enter `dir` (mode 0700).
  const pgDir = await mkdtemp(path.join(tmpdir(), 'infrabox-soak-pg-'));
  const pgPort = await freePort();
  const startPostgres = () => startEmbeddedPostgres({ dataDir: pgDir, port: pgPort, settings: { fsync: 'off', full_page_writes: 'off' } });
  let postgres: RunningPostgres = await startPostgres();
  const databaseUrl = postgres.url;
  const pool = createPool(databaseUrl);
  await migrate(pool);
  await pool.end();

  const installations = [
    new SoakInstallation({ cluster: null, dir: path.join(dir, 'master'), databaseUrl, cutEvery: options.cutEvery }),
    ...WORKERS.map((w) => new SoakInstallation({ cluster: w, dir: path.join(dir, w.name), databaseUrl, cutEvery: options.cutEvery })),
  ];
  const master = installations[0];
  const victim = installations[2];
  const killer = new ListenerKiller(databaseUrl, options.listenerKillIntervalMs);
  const chaos: SoakResult['chaos'] = {
    listenersTerminated: 0,
    listenerVictims: {},
    postgresRestarts: 0,
    workerKilled: null,
    workerRestarted: false,
    killedPids: [],
    transfersCut: 0,
  };
  let kill: KillWindow | null = null;
  let watcher: EventStreamWatcher | null = null;
  let crossEdges = 0;
  let edges = 0;

  const openMonitor = async () => {
    const client = new Client({ connectionString: databaseUrl, application_name: 'infrabox soak monitor' });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };
  let db = await openMonitor();

  // Ctrl-C: leave through `finally`, which stops every process this run started.
  let interrupted = false;
  const interrupt = () => {
    interrupted = true;
    log('interrupted: stopping');
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  try {
    // The chaos driver starts with the installation: listeners die from the first moment.
    killer.start();
    await Promise.all(installations.map((i) => i.start()));
    log(`master and ${WORKERS.length} workers running (${installations.length * 4} processes)`);
    const adminToken = mintAdminToken(parseInstallConfig(`host: ${master.apiUrl}\nauth:\n  signing_key: ${master.signingKey}\n`, { DATABASE_URL: databaseUrl }), 7 * 24 * 3600, databaseUrl);
    adminToken.catch(() => undefined); // awaited by push, which reports a failure
    watcher = new EventStreamWatcher(master.apiUrl, adminToken);
    watcher.start();
    await waitForClusters(db, installations.length);

    const random = seededRandom(options.seed);
    const workload = { labels: WORKERS.map((w) => w.label), jobsPerBuild: options.jobsPerBuild, crossShare: options.crossShare, executionsLog, digestsLog, random };
    let pushed = 0;
    let ended = 0;
    let paused = false;
    let lastProgress = Date.now();
    let restarted = false;
    let workerDown: Promise<void> | null = null;

    const countEnded = async (): Promise<number | null> => {
      try {
        const [row] = (await db.query<{ n: string }>(`SELECT count(*) AS n FROM job WHERE state IN ('finished','failure','error','killed','skipped','unstable')`)).rows;
        return Number(row.n);
      } catch {
        await db.end().catch(() => undefined);
        db = await openMonitor().catch(() => db);
        return null;
      }
    };

    // Builds are created as the admin, with a token signed by the master's key as `infrabox admin token` does.
    const push = async (build: BuildSpec): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        try {
          const response = await fetch(`${master.apiUrl}/api/v1/projects/soak/builds`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${await adminToken}` },
            body: JSON.stringify({ definition: build.definition }),
          });
          if (response.status === 201) return;
          const text = await response.text();
          if (response.status < 500 || attempt >= 30) throw new Error(`pushing a build: ${response.status} ${text}`);
        } catch (error) {
          if (attempt >= 30) throw error;
        }
        await sleep(1_000);
      }
    };

    for (;;) {
      if (interrupted) throw new Error('interrupted');
      const now = await countEnded();
      if (now !== null) {
        if (now !== ended) lastProgress = Date.now();
        ended = now;
      }
      // Keep the queue fed; never push while the database is down.
      while (!paused && pushed < options.jobs && pushed - ended < options.maxInFlight) {
        const size = Math.min(options.jobsPerBuild, options.jobs - pushed);
        const build = generateBuild(workload, size);
        await push(build);
        pushed += size;
        crossEdges += build.crossEdges;
        edges += build.edges;
      }
      const fraction = ended / options.jobs;
      if (!restarted && pushed >= Math.min(options.jobs, options.maxInFlight) && fraction >= options.restartPostgresAt) {
        restarted = true;
        paused = true;
        log(`restarting PostgreSQL (${ended} jobs ended)`);
        await postgres.stop();
        await sleep(2_000);
        postgres = await startPostgres();
        chaos.postgresRestarts++;
        log('PostgreSQL is back');
        paused = false;
      }
      if (!workerDown && restarted && fraction >= options.killWorkerAt) {
        chaos.killedPids = victim.pids;
        const schedulerPid = victim.schedulerPid!;
        log(`SIGKILL ${victim.name} (pids ${chaos.killedPids.join(' ')}; ${ended} jobs ended)`);
        await victim.kill();
        const killedAt = new Date();
        chaos.workerKilled = victim.name;
        workerDown = (async () => {
          await sleep(options.workerDownMs);
          log(`restarting ${victim.name}`);
          await victim.startApps();
          kill = { cluster: victim.name, schedulerPid, killedAt, restartedAt: new Date() };
          chaos.workerRestarted = true;
          log(`${victim.name} is running again`);
        })();
      }
      if (pushed >= options.jobs && ended >= pushed && (workerDown === null || chaos.workerRestarted)) break;
      if (Date.now() - lastProgress > options.stallMs && (workerDown === null || chaos.workerRestarted)) {
        log(`no job ended for ${options.stallMs / 1000} s: stop waiting (${ended} of ${pushed} ended)`);
        break;
      }
      await sleep(500);
    }
    await workerDown;
    log(`all ${pushed} jobs pushed, ${ended} ended; ${crossEdges} of ${edges} edges cross clusters (${((100 * crossEdges) / Math.max(1, edges)).toFixed(1)}%); letting consumers settle`);

    // Consumers save their positions once a second and poll every second: give them a moment.
    const settleUntil = Date.now() + 20_000;
    while (Date.now() < settleUntil && (await countUnhandledEvents(db).catch(() => 1)) > 0) await sleep(500);
    await killer.stop();
    await watcher.stop();
    const eventStream = { messages: watcher.messages, reconnects: watcher.reconnects };
    chaos.listenersTerminated = killer.terminated;
    chaos.listenerVictims = Object.fromEntries(killer.victims);
    chaos.transfersCut = installations.reduce((sum, i) => sum + i.transfersCut, 0);
    log(`chaos: ${JSON.stringify(chaos)}`);

    // When jobs did not end, the sessions that are busy or hold a transaction open show whether
    // an app hung on the database (a lock wait, a transaction left open) rather than died.
    if (ended < pushed) {
      const busy = await db
        .query<{ pid: number; app: string; state: string; wait: string | null; xact_s: number | null; query: string }>(
          `SELECT pid, application_name AS app, state, wait_event_type || ':' || wait_event AS wait,
                  round(extract(epoch FROM now() - xact_start))::int AS xact_s, left(query, 160) AS query
             FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`,
        )
        .then((r) => r.rows)
        .catch(() => []);
      for (const s of busy) log(`session: pid ${s.pid} '${s.app}' ${s.state}${s.wait ? ` waiting ${s.wait}` : ''}, transaction ${s.xact_s ?? '-'} s: ${s.query.replace(/\s+/g, ' ')}`);
      // And each app's CPU and JavaScript stack tell a spinning or blocked event loop from one waiting.
      const apps = installations.flatMap((i) => i.liveApps);
      for (const line of await Promise.all(apps.map((app) => app.diagnose().catch((error: Error) => `${app.name}: ${error.message}`)))) {
        log(`app state: ${line}`);
      }
    }
    // An app that died on its own explains lost jobs and unhandled events better than any count.
    for (const app of installations.flatMap((i) => i.exitedApps)) {
      log(`crashed: ${app.name} exited (${app.exitedWith}); log ${app.logFile}; its last stderr: ${app.stderrTail.trim().split('\n').slice(-8).join(' | ') || '(none)'}`);
    }
    const result = await checkSoak({
      client: db,
      executionsLog,
      digestsLog,
      storageDirs: new Map(installations.map((i) => [i.name, i.storageDir])),
      kill,
    });
    for (const example of result.examples) log(example);
    return { ...result, seconds: Math.round((Date.now() - started) / 1000), chaos, eventStream, crossEdges, edges, dir };
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await killer.stop();
    await watcher?.stop();
    await db.end().catch(() => undefined);
    await Promise.all(installations.map((i) => i.stop().catch(() => undefined)));
    await postgres.stop().catch(() => undefined);
    await rm(pgDir, { recursive: true, force: true }).catch(() => undefined);
    if (!options.keepDir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    else await appendFile(path.join(dir, 'KEPT'), 'kept for inspection\n');
  }
}

async function waitForClusters(db: Client, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const [row] = (await db.query<{ n: string }>('SELECT count(*) AS n FROM cluster WHERE active AND enabled')).rows;
    if (Number(row.n) >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${row.n} of ${count} clusters registered`);
    await sleep(200);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
