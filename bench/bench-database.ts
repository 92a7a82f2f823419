import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPool, migrate, startEmbeddedPostgres } from '@infrabox/database';

export interface BenchDatabase {
  url: string;
  describe: string;
  stop(): Promise<void>;
}

/** DATABASE_URL when given (argv --database-url), else a fresh embedded PostgreSQL with default settings. */
export async function openBenchDatabase(givenUrl: string | undefined): Promise<BenchDatabase> {
  let url = givenUrl;
  let stop = async () => undefined as void;
  let describe = 'given server';
  if (!url) {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'infrabox-bench-pg-'));
    const server = await startEmbeddedPostgres({ dataDir, port: 54000 + Math.floor(Math.random() * 900) });
    url = server.url;
    describe = 'embedded PostgreSQL 18, default settings (fsync on)';
    stop = async () => {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    };
  }
  const pool = createPool(url);
  await migrate(pool);
  await pool.end();
  return { url, describe, stop };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on one machine. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Runs a benchmark's main and exits: 0 after its figures, 1 with the error. */
export function runBenchmark(name: string, main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: Error) => {
      console.error(`${name} failed: ${error.stack}`);
      process.exit(1);
    },
  );
}
