/**
 * bench:containers — what the container executor adds to a container's own start.
 *
 *   npm run bench:containers [-- --database-url URL] [--samples 10] [--image alpine:3.20]
 *
 * Needs a container engine (DOCKER_HOST, Docker's or Podman's socket, or Podman installed) and
 * the image present (`podman image exists IMAGE`). Two installations with the container executor
 * (api, scheduler, output-forwarder each, as processes), on one engine, and in the same run:
 * 1. raw: `podman run --rm` of the image with `true`, wall time (create, start, wait, remove);
 * 2. executor: a job running `true` in the same image, its claim → its end recorded (stage in,
 *    create, start, wait, remove, stage out), database clock; samples interleaved with 1;
 * 3. handoff: parent (1 KB output) finished → child ended on the other cluster, both in
 *    containers; the child also runs `true`, so this bounds "child running" from above.
 * Goals: 2 ≤ 1.2 × 1; 3 ≤ 1 + 50 ms (medians).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ClusterRepository } from '@infrabox/clusters';
import { findContainerEngine } from '@infrabox/containers';
import { createPool, Database } from '@infrabox/database';
import { benchBuilds } from './bench-builds';
import { openBenchDatabase, percentile, round, runBenchmark } from './bench-database';
import { Installation, startInstallation, stopInstallations, untilBuildFinished } from './bench-installation';

const run = promisify(execFile);

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const samples = Number(option('samples', '10'));
  const image = option('image', 'alpine:3.20');
  const engine = await findContainerEngine();
  if (!engine) throw new Error('no container engine answers (see `infrabox up`): bench:containers needs one');
  process.env.DOCKER_HOST = engine.url; // the installations use the same engine
  const database = await openBenchDatabase(process.argv.includes('--database-url') ? option('database-url', '') : undefined);
  const db = new Database(createPool(database.url, 4), database.url);
  console.log(`bench:containers on ${database.describe}; engine ${engine.description}; image ${image}; ${samples} samples`);
  const installations: Installation[] = [];
  try {
    const [a, b] = await Promise.all([startInstallation('ctr-a', 'A', database.url, 'container'), startInstallation('ctr-b', 'B', database.url, 'container')]);
    installations.push(a, b);
    const clusters = new ClusterRepository(db);
    for (const [i, label] of [[a, 'A'], [b, 'B']] as const) await clusters.register({ name: i.name, labels: [label], apiUrl: i.apiUrl });
    const builds = benchBuilds(db, a.name);
    const job = (name: string, label: string, command: string, extra: object = {}) => ({ name, type: 'docker-image', image, cluster: { selector: [label] }, command: ['sh', '-c', command], ...extra });
    const ended = (buildId: string) => untilBuildFinished(db, buildId, 10);
    const rawRun = async () => {
      const started = performance.now();
      await run('podman', ['--runtime', 'runc', 'run', '--rm', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', image, 'true']);
      return performance.now() - started;
    };

    await rawRun(); // warm-up: the image's layers into the page cache
    const raw: number[] = [];
    const single: string[] = [];
    const pairs: string[] = [];
    for (let i = 0; i < samples; i++) {
      raw.push(await rawRun());
      const one = await builds.create('bench-containers', { version: 1, jobs: [job('one', 'A', 'true')] });
      await ended(one.id);
      single.push(one.id);
      const pair = await builds.create('bench-containers', {
        version: 1,
        jobs: [job('parent', 'A', 'head -c 1024 /dev/urandom > "$INFRABOX_OUTPUT/small.bin"'), job('child', 'B', 'true', { depends_on: ['parent'] })],
      });
      await ended(pair.id);
      pairs.push(pair.id);
    }
    const lifecycle = (await db.query<{ ms: number }>(`SELECT extract(epoch FROM finished_at - started_at) * 1000 AS ms FROM job WHERE build_id = ANY($1::uuid[])`, [single])).map((r) => Number(r.ms));
    const handoff = (
      await db.query<{ ms: number }>(
        `SELECT extract(epoch FROM c.finished_at - p.finished_at) * 1000 AS ms
           FROM job c JOIN job_dependency d ON d.job_id = c.id JOIN job p ON p.id = d.parent_job_id
          WHERE c.build_id = ANY($1::uuid[])`,
        [pairs],
      )
    ).map((r) => Number(r.ms));
    const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
    const [rawP50, jobP50, handoffP50] = [raw, lifecycle, handoff].map((xs) => percentile(sorted(xs), 50));
    const ratio = jobP50 / rawP50;
    console.log(`raw:      podman run --rm ${image} true: p50=${round(rawP50, 1)} ms p90=${round(percentile(sorted(raw), 90), 1)} ms (n=${raw.length})`);
    console.log(`executor: a job running true, claim → end recorded: p50=${round(jobP50, 1)} ms p90=${round(percentile(sorted(lifecycle), 90), 1)} ms (n=${lifecycle.length})`);
    console.log(`handoff:  parent finished (1 KB output) → child ended on the other cluster: p50=${round(handoffP50, 1)} ms p90=${round(percentile(sorted(handoff), 90), 1)} ms (n=${handoff.length})`);
    console.log(
      `goals: executor ≤ 1.2 × raw: ${ratio <= 1.2 ? 'met' : 'MISSED'} (${round(ratio, 2)}×); handoff ≤ raw + 50 ms: ${handoffP50 <= rawP50 + 50 ? 'met' : 'MISSED'} (raw + ${round(handoffP50 - rawP50, 1)} ms)`,
    );
    console.log(`containers raw_p50_ms=${round(rawP50, 1)} executor_p50_ms=${round(jobP50, 1)} ratio=${round(ratio, 3)} handoff_p50_ms=${round(handoffP50, 1)}`);
  } finally {
    await stopInstallations(installations, 2_000);
    await db.close();
    await database.stop();
    await engine.close();
  }
}

runBenchmark('bench:containers', main);
