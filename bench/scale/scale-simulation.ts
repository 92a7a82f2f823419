/**
 * The 100-cluster simulation behind bench:scale (and, small, test/scale): simulated clusters in
 * a few host processes, each cluster an app with the real registration, placement and event
 * code on its own pool and LISTEN connection; then a backlog of queued jobs with selectors.
 */
import { ChildProcess, fork } from 'node:child_process';
import { currentClusterOf, parseInstallConfig } from '@infrabox/config';
import { createPool, Database } from '@infrabox/database';
import { EventRepository, PgEventClient } from '@infrabox/events';
import { BuildRepository, JobRepository, JobStatsRepository, ProjectRepository } from '@infrabox/jobs';
import { BuildsService } from '../../apps/api/src/builds/builds.service';
import { HostMessage, HostReply, SimulatedCluster, simulatedAppName } from './scale-protocol';

export interface ScaleRunOptions {
  /** An empty, migrated database of its own (the run fills it). */
  databaseUrl: string;
  /**
   * The apps' pools through this transaction-mode PgBouncer in front of the same database
   * (only their LISTEN connections direct); `serverPorts` are the local ports of its server
   * connections (`SHOW SERVERS`), which tell its backends from the apps' own.
   */
  pooler?: { url: string; serverPorts: () => Promise<Set<number>> };
  clusters: number;
  jobs: number;
  /** Compiled scale-host.js. */
  hostScript: string;
  /** Processes hosting the clusters (default: 4, or fewer when there are fewer clusters). */
  hosts?: number;
  /** Node flags for the host processes (e.g. --cpu-prof to profile them). */
  hostExecArgv?: string[];
  jobsPerBuild?: number;
  /**
   * Jobs placed and delivered before the measured backlog (not counted), so that it meets warm
   * apps and server backends, as in an installation that has been running: the 600 backends of
   * 100 clusters, all fresh from the apps' start, otherwise load their caches inside the window.
   */
  warmupJobs?: number;
  timeoutMs?: number;
}

export interface ScaleRunResult {
  clusters: number;
  jobs: number;
  builds: number;
  /** From the commit of the queued builds to the last job.placed handled by its cluster. */
  placeMs: number;
  /** Handler invocations of every event type across all simulated apps in that window. */
  eventsDelivered: number;
  eventsPerSecond: number;
  /** Peak of the simulated apps' own (direct) connections in pg_stat_activity (sampled every 250 ms: pools keep idle connections for 30 s, so a peak lasts; reading 600 backends' activity 20 times a second cost the server more than the apps being measured). */
  peakConnections: number;
  /** Peak direct connections of the busiest single app. */
  peakConnectionsPerApp: number;
  /** Peak of the pooler's server connections (0 without one). */
  peakPoolerConnections: number;
  misdelivered: number;
  clusterLabels: Map<string, string[]>;
  /** Every job as the database has it at the end, with its selector and the cluster(s) told to run it. */
  placements: Array<{ jobId: string; state: string; cluster: string | null; selector: string[]; deliveredTo: string[] }>;
}

/** Labels spread so that each selector below matches 1/10 or 1/20 of the clusters (at least one). */
export function simulatedClusters(count: number): SimulatedCluster[] {
  if (count < 10) throw new Error('the simulation needs at least 10 clusters (10 label groups)');
  return Array.from({ length: count }, (_, i) => ({
    name: `c${String(i).padStart(3, '0')}`,
    labels: [`g${i % 10}`, i % 2 === 0 ? 'aws' : 'gcp', `zone-${i % 3}`],
  }));
}

/** Job k of a build: no selector, a group, a group and its cloud, or a child of job k-1. */
function simulatedJob(k: number) {
  const group = k % 10;
  const job = { name: `j${k}`, type: 'docker-image', image: 'none', command: ['true'] };
  switch (k % 4) {
    case 1:
      return { ...job, cluster: { selector: [`g${group}`] } };
    case 2:
      return { ...job, cluster: { selector: [`g${group}`, group % 2 === 0 ? 'aws' : 'gcp'] } };
    case 3:
      return { ...job, depends_on: [`j${k - 1}`] };
    default:
      return job;
  }
}

class Host {
  private readonly child: ChildProcess;
  private waiting: { resolve(reply: HostReply): void; reject(error: Error): void } | null = null;
  readonly exited: Promise<void>;

  constructor(script: string, execArgv: string[] = []) {
    this.child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
    this.child.on('message', (reply: HostReply) => this.settle()?.resolve(reply));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code) => {
        this.settle()?.reject(new Error(`scale host exited (${code}) before answering`));
        resolve();
      }),
    );
  }

  /** One question at a time. */
  ask(message: HostMessage): Promise<HostReply> {
    return new Promise((resolve, reject) => {
      if (this.child.exitCode !== null) return reject(new Error(`scale host exited (${this.child.exitCode})`));
      this.waiting = { resolve, reject };
      this.child.send(message);
    });
  }

  private settle() {
    const waiting = this.waiting;
    this.waiting = null;
    return waiting;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.connected) this.child.send({ kind: 'stop' } satisfies HostMessage);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

type Stats = Extract<HostReply, { kind: 'stats' }>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runScaleSimulation(options: ScaleRunOptions): Promise<ScaleRunResult> {
  const clusters = simulatedClusters(options.clusters);
  const jobsPerBuild = options.jobsPerBuild ?? 100;
  if (options.jobs % jobsPerBuild !== 0) throw new Error(`jobs (${options.jobs}) must be a multiple of ${jobsPerBuild}`);
  const hostCount = Math.min(options.hosts ?? 4, clusters.length);
  const db = new Database(createPool(options.databaseUrl, 3), options.databaseUrl);
  const hosts = Array.from({ length: hostCount }, () => new Host(options.hostScript, options.hostExecArgv));
  const sampler = new ConnectionSampler(db, options.pooler?.serverPorts);
  try {
    await Promise.all(
      hosts.map((host, h) =>
        host.ask({ kind: 'start', databaseUrl: options.databaseUrl, poolerUrl: options.pooler?.url, clusters: clusters.filter((_, i) => i % hostCount === h) }),
      ),
    );
    // What the registries' probes would have written: every pair reachable.
    await db.query(
      `INSERT INTO cluster_reachability (from_cluster, to_cluster, reachable, rtt_ms)
       SELECT a.name, b.name, true, 1 FROM cluster a CROSS JOIN cluster b WHERE a.name <> b.name
       ON CONFLICT DO NOTHING`,
    );
    sampler.start();

    // The builds come in through the first cluster's api (as pushes reach the master's).
    const apiConfig = parseInstallConfig(`host: http://127.0.0.1:1\ncluster:\n  name: ${clusters[0].name}\n`, { DATABASE_URL: options.databaseUrl });
    const events = new PgEventClient(new EventRepository(db));
    const builds = new BuildsService(db, new ProjectRepository(db), new BuildRepository(db), new JobRepository(db), new JobStatsRepository(db), events, currentClusterOf(apiConfig));
    const timeoutMs = options.timeoutMs ?? 600_000;
    /** Commits `jobs` queued jobs in one transaction (the whole backlog visible, and announced, at once); resolves when every job.placed was handled. */
    const placeBacklog = async (jobs: number): Promise<{ startedAt: number; before: Stats & { eventsHandled: number }; latest: Stats & { eventsHandled: number } }> => {
      const before = await stats(hosts, false);
      await db.transaction(async () => {
        for (let b = 0; b < jobs / jobsPerBuild; b++) {
          await builds.create('scale', { version: 1, jobs: Array.from({ length: jobsPerBuild }, (_, k) => simulatedJob(k)) });
        }
      });
      const startedAt = Date.now();
      for (;;) {
        const latest = await stats(hosts, false);
        if (latest.delivered - before.delivered >= jobs) return { startedAt, before, latest };
        if (Date.now() > startedAt + timeoutMs) throw new Error(`only ${latest.delivered - before.delivered} of ${jobs} job.placed events handled in time`);
        await sleep(20);
      }
    };
    const warmupJobs = options.warmupJobs ?? 0;
    if (warmupJobs % jobsPerBuild !== 0) throw new Error(`warmupJobs (${warmupJobs}) must be a multiple of ${jobsPerBuild}`);
    if (warmupJobs > 0) await placeBacklog(warmupJobs);
    const buildCount = options.jobs / jobsPerBuild;
    const { startedAt: t0, before, latest } = await placeBacklog(options.jobs);
    const placeMs = Math.max(1, latest.lastDeliveryAt - t0);
    await sleep(200); // late duplicates, if any, would show in the placements below
    sampler.stop();
    const final = await stats(hosts, true);
    const eventsDelivered = latest.eventsHandled - before.eventsHandled;

    const deliveredTo = new Map<string, string[]>();
    for (const [cluster, ids] of Object.entries(final.placed)) {
      for (const id of ids) deliveredTo.set(id, [...(deliveredTo.get(id) ?? []), cluster]);
    }
    const rows = await db.query<{ id: string; state: string; cluster_name: string | null; definition: { cluster?: { selector?: string[] } } }>(
      'SELECT id, state, cluster_name, definition FROM job',
    );
    return {
      clusters: clusters.length,
      jobs: options.jobs,
      builds: buildCount,
      placeMs,
      eventsDelivered,
      eventsPerSecond: eventsDelivered / (placeMs / 1000),
      peakConnections: sampler.peakTotal,
      peakConnectionsPerApp: sampler.peakPerApp,
      peakPoolerConnections: sampler.peakPooler,
      misdelivered: final.misdelivered,
      clusterLabels: new Map(clusters.map((c) => [c.name, c.labels])),
      placements: rows.map((r) => ({
        jobId: r.id,
        state: r.state,
        cluster: r.cluster_name,
        selector: r.definition.cluster?.selector ?? [],
        deliveredTo: deliveredTo.get(r.id) ?? [],
      })),
    };
  } finally {
    sampler.stop();
    await Promise.all(hosts.map((host) => host.stop()));
    await db.close();
  }
}

async function stats(hosts: Host[], withJobIds: boolean): Promise<Stats & { eventsHandled: number }> {
  const replies = (await Promise.all(hosts.map((host) => host.ask({ kind: 'stats', withJobIds })))) as Stats[];
  return {
    kind: 'stats',
    delivered: replies.reduce((sum, r) => sum + r.delivered, 0),
    misdelivered: replies.reduce((sum, r) => sum + r.misdelivered, 0),
    eventsHandled: replies.reduce((sum, r) => sum + r.eventsHandled, 0),
    lastDeliveryAt: Math.max(...replies.map((r) => r.lastDeliveryAt)),
    placed: Object.assign({}, ...replies.map((r) => r.placed)),
  };
}

/**
 * Samples pg_stat_activity for the simulated apps' connections (application_name per app). A
 * pooler's server connections carry the name of the client they last served: they are told
 * apart by their port and counted on their own.
 */
class ConnectionSampler {
  peakTotal = 0;
  peakPerApp = 0;
  peakPooler = 0;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(
    private readonly db: Database,
    private readonly poolerPorts: () => Promise<Set<number>> = async () => new Set(),
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), 250);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const [rows, poolerPorts] = await Promise.all([
        this.db.query<{ application_name: string; client_port: number }>('SELECT application_name, client_port FROM pg_stat_activity WHERE datname = current_database()'),
        this.poolerPorts(),
      ]);
      const direct = new Map<string, number>();
      let pooler = 0;
      for (const row of rows) {
        if (poolerPorts.has(row.client_port)) pooler++;
        else if (row.application_name.startsWith(simulatedAppName(''))) direct.set(row.application_name, (direct.get(row.application_name) ?? 0) + 1);
      }
      this.peakTotal = Math.max(this.peakTotal, [...direct.values()].reduce((sum, n) => sum + n, 0));
      this.peakPerApp = Math.max(this.peakPerApp, ...direct.values());
      this.peakPooler = Math.max(this.peakPooler, pooler);
    } catch {
      // A sample lost to a busy server is only a sample.
    } finally {
      this.busy = false;
    }
  }
}
