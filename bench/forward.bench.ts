/**
 * bench:forward — moving a job's output between two clusters on loopback.
 *
 *   npm run bench:forward [-- --database-url URL] [--mib 1024] [--samples 20]
 *
 * Two installations (api, scheduler, output-forwarder each, as processes) on local storage.
 * 1. A producer on cluster A writes a 1 GiB output; its child on cluster B pulls it. The rate is
 *    the forwarder's own figure (its log: "pulled N MiB from A in S s"); its peak RSS is VmHWM.
 * 2. In the same run, the same tar is copied with a plain HTTP GET over loopback into a file.
 * 3. Parent finished → child running on the other cluster, for a 1 KB output (database clock).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { createServer, get as httpGet, IncomingMessage } from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ClusterRepository } from '@infrabox/clusters';
import { createPool, Database } from '@infrabox/database';
import { benchBuilds } from './bench-builds';
import { openBenchDatabase, percentile, round, runBenchmark } from './bench-database';
import { Installation, startInstallation, stopInstallations, untilBuildFinished } from './bench-installation';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}



async function peakRssMib(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function main(): Promise<void> {
  const mib = Number(option('mib', '1024'));
  const samples = Number(option('samples', '20'));
  const database = await openBenchDatabase(process.argv.includes('--database-url') ? option('database-url', '') : undefined);
  const db = new Database(createPool(database.url, 4), database.url);
  console.log(`bench:forward on ${database.describe}; ${mib} MiB output, ${samples} latency samples`);
  const installations: Installation[] = [];
  try {
    const clusters = new ClusterRepository(db);
    const [a, b] = await Promise.all([startInstallation('bench-a', 'A', database.url, 'process'), startInstallation('bench-b', 'B', database.url, 'process')]);
    installations.push(a, b);
    for (const i of installations) await clusters.register({ name: i.name, labels: [i.name === 'bench-a' ? 'A' : 'B'], apiUrl: i.apiUrl });
    const builds = benchBuilds(db, a.name);
    const pair = (producerCommand: string) => ({
      version: 1,
      jobs: [
        { name: 'producer', type: 'docker-image', image: 'none', cluster: { selector: ['A'] }, command: ['sh', '-c', producerCommand] },
        { name: 'consumer', type: 'docker-image', image: 'none', cluster: { selector: ['B'] }, depends_on: ['producer'], command: ['true'] },
      ],
    });
    const waitForBuild = (buildId: string) => untilBuildFinished(db, buildId, 20);

    // 1. The big transfer, through real jobs.
    const big = await builds.create('bench-forward', pair(`head -c ${mib * 1048576} /dev/zero > "$INFRABOX_OUTPUT/big.bin"`));
    await waitForBuild(big.id);
    const producerId = big.jobs!.find((j) => j.name === 'producer')!.id;
    const pulled = b.logs.get('output-forwarder')!.find((l) => l.includes(`job ${producerId}: pulled`));
    const match = pulled && /pulled ([\d.]+) MiB from \S+ in ([\d.]+) s/.exec(pulled);
    if (!match) throw new Error(`no transfer line in the forwarder's log for job ${producerId}`);
    const forwardRate = Number(match[1]) / Number(match[2]);
    const rss = await peakRssMib(b.apps.get('output-forwarder')!.pid!);

    // 2. The same bytes with a plain HTTP GET on loopback, into a file.
    const tarFile = path.join(a.dir, 'storage', 'objects', 'output', producerId, 'output.tar');
    const size = (await stat(tarFile)).size;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(size) });
      createReadStream(tarFile).pipe(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const target = path.join(b.dir, 'raw-copy.tar');
    const rawStarted = performance.now();
    const response = await new Promise<IncomingMessage>((resolve, reject) =>
      httpGet(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, resolve).on('error', reject),
    );
    await pipeline(response, createWriteStream(target));
    const rawSeconds = (performance.now() - rawStarted) / 1000;
    server.close();
    const rawRate = size / 1048576 / rawSeconds;
    await rm(target, { force: true });

    // 3. Latency for a 1 KB output.
    const ids: string[] = [];
    for (let i = 0; i < samples; i++) {
      const build = await builds.create('bench-forward-latency', pair('head -c 1024 /dev/urandom > "$INFRABOX_OUTPUT/small.bin"'));
      await waitForBuild(build.id);
      ids.push(build.id);
    }
    const rows = await db.query<{ ms: number }>(
      `SELECT extract(epoch FROM c.started_at - p.finished_at) * 1000 AS ms
         FROM job c JOIN job_dependency d ON d.job_id = c.id JOIN job p ON p.id = d.parent_job_id
        WHERE c.build_id = ANY($1::uuid[])`,
      [ids],
    );
    const latencies = rows.map((r) => Number(r.ms)).sort((x, y) => x - y);
    const p50 = percentile(latencies, 50);

    console.log(`forward:  ${Math.round(Number(match[1]))} MiB pulled A → B at ${round(forwardRate, 1)} MiB/s (sha256-verified, into B's storage); forwarder peak RSS ${round(rss, 1)} MiB`);
    console.log(`raw:      plain HTTP GET of the same ${round(size / 1048576, 1)} MiB into a file at ${round(rawRate, 1)} MiB/s`);
    console.log(`latency:  parent finished → child running on the other cluster, 1 KB output: p50=${round(p50, 1)} ms p99=${round(percentile(latencies, 99), 1)} ms (n=${latencies.length})`);
    console.log(
      `goals: ≥ 80% of raw: ${forwardRate >= 0.8 * rawRate ? 'met' : 'MISSED'} (${Math.round((100 * forwardRate) / rawRate)}%); peak RSS < 150 MiB: ${rss < 150 ? 'met' : 'MISSED'}; p50 ≤ 50 ms: ${p50 <= 50 ? 'met' : 'MISSED'}`,
    );
    console.log(`forward mib_per_s=${round(forwardRate, 1)} raw_mib_per_s=${round(rawRate, 1)} peak_rss_mib=${round(rss, 1)}`);
  } finally {
    await stopInstallations(installations, 1_000);
    await db.close();
    await database.stop();
  }
}

runBenchmark('bench:forward', main);
