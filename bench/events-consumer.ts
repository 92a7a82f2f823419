/**
 * The receiving process of bench:events. Mode `raw`: a plain LISTEN connection; mode `events`:
 * the real transport. For each message it records (receive time − send time) and, when told
 * `done`, prints them as one JSON line.
 */
import 'reflect-metadata';
import { Client } from 'pg';
import { createPool, Database } from '@infrabox/database';
import { EventConsumerRepository, EventRepository, PgEventContext, PgEventServer } from '@infrabox/events';
import { wallClockMs } from './bench-database';

const [mode, url, type] = process.argv.slice(2);
const latencies: number[] = [];
let received = 0;
let firstAt = 0;
let lastAt = 0;

function record(sentAt: number | undefined): void {
  const now = wallClockMs();
  if (received === 0) firstAt = now;
  lastAt = now;
  received++;
  if (typeof sentAt === 'number') latencies.push(now - sentAt);
}

function report(): void {
  process.stdout.write(`${JSON.stringify({ received, latencies, firstAt, lastAt })}\n`);
  latencies.length = 0;
  received = 0;
}

async function main(): Promise<void> {
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (text: string) => {
    for (const command of text.split('\n').filter(Boolean)) {
      if (command === 'report') report();
      if (command === 'count') process.stdout.write(`${received}\n`);
      if (command === 'exit') process.exit(0);
    }
  });
  if (mode === 'raw') {
    const client = new Client({ connectionString: url });
    await client.connect();
    client.on('notification', (n) => record(Number(n.payload)));
    await client.query('LISTEN bench_raw');
  } else {
    const db = new Database(createPool(url), url);
    const server = new PgEventServer(
      { app: 'bench', cluster: 'master', databaseUrl: url },
      new EventRepository(db),
      new EventConsumerRepository(db),
    );
    server.addHandler(type, async (data: { sentAt?: number }, _ctx: PgEventContext) => record(data.sentAt), true);
    await new Promise<void>((resolve, reject) => server.listen((error?: unknown) => (error ? reject(error) : resolve())));
  }
  process.stdout.write('READY\n');
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
