/**
 * bench:events — emit→handle latency of the event backbone across two processes and its
 * sustained rate, beside the raw pg_notify → LISTEN latency on the same server in the same run.
 *
 *   npm run bench:events [-- --database-url URL] [--samples N] [--events N] [--emitters N] [--batch N]
 */
import 'reflect-metadata';
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createPool, Database } from '@infrabox/database';
import { EventRepository, PgEventClient } from '@infrabox/events';
import { openBenchDatabase, percentile, round, wallClockMs, runBenchmark } from './bench-database';

interface Report {
  received: number;
  latencies: number[];
  firstAt: number;
  lastAt: number;
}

function option(name: string, fallback: string | undefined): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

class Consumer {
  private readonly child: ChildProcess;
  private buffer = '';
  private waiting: Array<(line: string) => void> = [];

  constructor(mode: 'raw' | 'events', url: string, type = '') {
    this.child = spawn(process.execPath, [path.join(__dirname, 'events-consumer.js'), mode, url, type], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString();
      let i: number;
      while ((i = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 1);
        this.waiting.shift()?.(line);
      }
    });
  }

  nextLine(): Promise<string> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async report(): Promise<Report> {
    const line = this.nextLine();
    this.child.stdin!.write('report\n');
    return JSON.parse(await line) as Report;
  }

  /** Waits until the consumer has `count` messages since its last report, then reports. */
  async reportOnceReceived(count: number, timeoutMs = 120_000): Promise<Report> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.nextLine();
      this.child.stdin!.write('count\n');
      const received = Number(await line);
      if (received >= count) return this.report();
      if (Date.now() > deadline) throw new Error(`consumer got ${received} of ${count} events`);
      await sleep(20);
    }
  }

  stop(): void {
    this.child.stdin!.write('exit\n');
  }
}

/** The server's own limit for one-row notifying transactions, without any of our code. */
async function notifyingCommitCeiling(db: Database, connections: number, total: number): Promise<number> {
  await db.query('CREATE TABLE IF NOT EXISTS bench_notify_probe (id bigserial PRIMARY KEY)');
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next++ < total) {
        await db.query(
          "WITH row AS (INSERT INTO bench_notify_probe DEFAULT VALUES RETURNING id) SELECT pg_notify('bench_probe', id::text) FROM row",
          [],
          'bench_probe',
        );
      }
    }),
  );
  const perSecond = total / ((performance.now() - started) / 1000);
  await db.query('DROP TABLE bench_notify_probe');
  return perSecond;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const samples = Number(option('samples', '2000'));
  const total = Number(option('events', '20000'));
  const emitters = Number(option('emitters', '4'));
  const batch = Number(option('batch', '10'));
  const database = await openBenchDatabase(option('database-url', undefined));
  const db = new Database(createPool(database.url, emitters), database.url);
  const client = new PgEventClient(new EventRepository(db));
  console.log(`bench:events on ${database.describe}; ${samples} latency samples, ${total} events for the rate, ${emitters} emitters`);

  try {
    // 1. Raw pg_notify → LISTEN, one at a time, paced so that nothing queues.
    const raw = new Consumer('raw', database.url);
    await raw.nextLine();
    for (let i = 0; i < samples; i++) {
      await db.query('SELECT pg_notify($1, $2)', ['bench_raw', String(wallClockMs())]);
      await sleep(1);
    }
    await sleep(200);
    const rawReport = await raw.report();
    raw.stop();

    // 2. Event backbone: emit (INSERT + trigger NOTIFY, committed) → handler in the other process.
    const type = `bench${Date.now()}.ping`;
    const consumer = new Consumer('events', database.url, type);
    await consumer.nextLine();
    for (let i = 0; i < 200; i++) await client.emitAny(type, { sentAt: wallClockMs() }); // warm-up
    await sleep(500);
    await consumer.report();
    for (let i = 0; i < samples; i++) {
      await client.emitAny(type, { sentAt: wallClockMs() });
      await sleep(1);
    }
    await sleep(500);
    const eventReport = await consumer.report();

    // 3. Sustained rate: `emitters` connections emitting as fast as they can, timed until the
    //    other process has handled the last event. Once with one event per transaction, once
    //    with `batch` per transaction (a build's jobs, a state change and its events).
    const measureRate = async (perTransaction: number) => {
      const started = wallClockMs();
      let next = 0;
      await Promise.all(
        Array.from({ length: emitters }, async () => {
          while (next < total) {
            const n = Math.min(perTransaction, total - next);
            next += n;
            await db.transaction(async () => {
              for (let k = 0; k < n; k++) await client.emitAny(type, {});
            });
          }
        }),
      );
      const emittedAt = wallClockMs();
      const report = await consumer.reportOnceReceived(total);
      const seconds = (report.lastAt - started) / 1000;
      console.log(
        `rate:        ${perTransaction} event(s)/transaction: ${total} emitted in ${round((emittedAt - started) / 1000)} s, ` +
          `all handled after ${round(seconds)} s = ${Math.round(total / seconds)}/s`,
      );
      return total / seconds;
    };
    const singleRate = await measureRate(1);
    const ceiling = await notifyingCommitCeiling(db, emitters, total);
    console.log(`ceiling:     plain INSERT + pg_notify commits on ${emitters} connections: ${Math.round(ceiling)}/s (PostgreSQL serialises notifying commits through the WAL flush)`);
    const rate = await measureRate(batch);
    consumer.stop();

    const rawSorted = [...rawReport.latencies].sort((a, b) => a - b);
    const evSorted = [...eventReport.latencies].sort((a, b) => a - b);
    const rawP50 = percentile(rawSorted, 50);
    const p50 = percentile(evSorted, 50);
    const p99 = percentile(evSorted, 99);
    console.log(`raw notify:  n=${rawReport.received} p50=${round(rawP50, 3)} ms p99=${round(percentile(rawSorted, 99), 3)} ms`);
    console.log(`events:      n=${eventReport.received} p50=${round(p50, 3)} ms p99=${round(p99, 3)} ms max=${round(evSorted[evSorted.length - 1], 3)} ms`);
    console.log(`goals: p50 ≤ 3× raw (${round(3 * rawP50, 3)} ms): ${p50 <= 3 * rawP50 ? 'met' : 'MISSED'}; p99 ≤ 5 ms: ${p99 <= 5 ? 'met' : 'MISSED'}; ≥ 5000/s: ${rate >= 5000 ? 'met' : 'MISSED'} at ${batch}/transaction, ${singleRate >= 5000 ? 'met' : 'MISSED'} at 1/transaction`);
    console.log(`events p50_ms=${round(p50, 3)} p99_ms=${round(p99, 3)} rate_per_s=${Math.round(rate)} raw_notify_p50_ms=${round(rawP50, 3)}`);
  } finally {
    await db.close();
    await database.stop();
  }
}

runBenchmark('bench:events', main);
