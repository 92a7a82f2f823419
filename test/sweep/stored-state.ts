import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Database } from '@infrabox/database';

/**
 * Tables whose rows bad input must never change (by digest of the row, or of the columns named),
 * and the event table (by count). A cluster's heartbeat and liveness move on their own (a
 * registry left by another test file may still beat): they are not part of the digest.
 */
const TABLES: Record<string, string> = {
  project: 't',
  build: 't',
  job: 't',
  job_dependency: 't',
  job_output: 't',
  build_source: 't',
  cluster: '(t.name, t.labels, t.api_url, t.enabled, t.capacity, t.registered_at)',
};

/** What is stored: a digest per table, the events, and every file of a storage folder with its sha256. */
export async function storedState(db: Database, storageDir: string): Promise<Record<string, string>> {
  const state: Record<string, string> = {};
  for (const [table, columns] of Object.entries(TABLES)) {
    const [row] = await db.query<{ rows: string; digest: string | null }>(
      `SELECT count(*)::text AS rows, md5(string_agg(${columns}::text, E'\\n' ORDER BY ${columns}::text)) AS digest FROM ${table} t`,
    );
    state[table] = `${row.rows} rows, ${row.digest ?? '-'}`;
  }
  const [events] = await db.query<{ rows: string; last: string | null }>('SELECT count(*)::text AS rows, max(id)::text AS last FROM event');
  state.event = `${events.rows} rows, last id ${events.last ?? '-'}`;
  for (const file of await filesUnder(storageDir)) {
    state[`storage:${path.relative(storageDir, file)}`] = createHash('sha256').update(await readFile(file)).digest('hex');
  }
  return state;
}

async function filesUnder(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(full)));
    else files.push(full);
  }
  return files.sort();
}
