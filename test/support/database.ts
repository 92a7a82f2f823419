import { randomBytes } from 'node:crypto';
import { createPool, Database } from '@infrabox/database';

/** The run's database (DATABASE_URL, set by the global setup). */
export function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: run the tests through jest (test/support/global-setup.mjs)');
  return url;
}

export function openDatabase(max = 5): Database {
  const url = databaseUrl();
  return new Database(createPool(url, max), url);
}

/** An event type no other test uses, so tests sharing the database never see each other's events. */
export function uniqueEventType(name = 'ping'): string {
  return `t${randomBytes(5).toString('hex')}.${name}`;
}

/** Creates an empty database on the same server and returns its URL. */
export async function createScratchDatabase(db: Database): Promise<string> {
  const name = `scratch_${randomBytes(5).toString('hex')}`;
  await db.query(`CREATE DATABASE ${name}`);
  const url = new URL(db.url);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
