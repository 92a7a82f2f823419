/**
 * bench:events — emit→handle latency of the event backbone across two processes and its
 * sustained rate, beside two peers measured on the same server in the same run: the raw
 * pg_notify → LISTEN latency, and the durable floor — a one-statement `INSERT … pg_notify`
 * transaction (committed, so fsynced like an event) reaching a plain LISTEN connection, and the
 * rate of such one-row transactions from the same number of clients.
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

/** The one statement the floor commits: a durable row and its NOTIFY, nothing of ours. */
const FLOOR_STATEMENT =
  "WITH row AS (INSERT INTO bench_notify_probe DEFAULT VALUES RETURNING id) SELECT pg_notify('bench_raw', $1::text) FROM row";

/** The server's own limit for one-row notifying transactions, without any of our code. */
async function notifyingCommitCeiling(db: Database, connections: number, total: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next++ < total) {
        await db.query(FLOOR_STATEMENT, ['0'], 'bench_probe');
      }
    }),
  );
  return total / ((performance.now() - started) / 1000);
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

    // 1b. The durable floor: the same listener, reached by a committed one-row INSERT + pg_notify.
    await db.query('CREATE TABLE IF NOT EXISTS bench_notify_probe (id bigserial PRIMARY KEY)');
    for (let i = 0; i < samples; i++) {
      await db.query(FLOOR_STATEMENT, [String(wallClockMs())], 'bench_floor');
      await sleep(1);
    }
    await sleep(200);
    const floorReport = await raw.report();
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
    const floorRate = await notifyingCommitCeiling(db, emitters, total);
    await db.query('DROP TABLE bench_notify_probe');
    console.log(`floor rate:  one-row INSERT + pg_notify transactions on ${emitters} connections: ${Math.round(floorRate)}/s (PostgreSQL serialises notifying commits through the WAL flush)`);
    const rate = await measureRate(batch);
    consumer.stop();

    const sorted = (report: Report) => [...report.latencies].sort((a, b) => a - b);
    const [rawSorted, floorSorted, evSorted] = [sorted(rawReport), sorted(floorReport), sorted(eventReport)];
    const rawP50 = percentile(rawSorted, 50);
    const [floorP50, floorP99] = [percentile(floorSorted, 50), percentile(floorSorted, 99)];
    const [p50, p99] = [percentile(evSorted, 50), percentile(evSorted, 99)];
    console.log(`raw notify:  n=${rawReport.received} p50=${round(rawP50, 3)} ms p99=${round(percentile(rawSorted, 99), 3)} ms`);
    console.log(`floor:       n=${floorReport.received} p50=${round(floorP50, 3)} ms p99=${round(floorP99, 3)} ms (durable one-statement emit → LISTEN)`);
    console.log(`events:      n=${eventReport.received} p50=${round(p50, 3)} ms p99=${round(p99, 3)} ms max=${round(evSorted[evSorted.length - 1], 3)} ms`);
    const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
    console.log(
      `goals: p50 ≤ 1.25× floor (${round(1.25 * floorP50, 3)} ms): ${verdict(p50 <= 1.25 * floorP50)} at ${round(p50 / floorP50)}×; ` +
        `p99 ≤ 2× floor (${round(2 * floorP99, 3)} ms): ${verdict(p99 <= 2 * floorP99)} at ${round(p99 / floorP99)}×; ` +
        `rate ≥ floor rate (${Math.round(floorRate)}/s): ${verdict(rate >= floorRate)} at ${batch}/transaction (${round(rate / floorRate)}×), ` +
        `${verdict(singleRate >= floorRate)} at 1/transaction (${round(singleRate / floorRate)}×)`,
    );
    console.log(
      `events p50_ms=${round(p50, 3)} p99_ms=${round(p99, 3)} rate_per_s=${Math.round(rate)} raw_notify_p50_ms=${round(rawP50, 3)} ` +
        `floor_p50_ms=${round(floorP50, 3)} floor_p99_ms=${round(floorP99, 3)} floor_rate_per_s=${Math.round(floorRate)}`,
    );
  } finally {
    await db.close();
    await database.stop();
  }
}

runBenchmark('bench:events', main);
