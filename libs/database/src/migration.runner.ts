import { Pool } from 'pg';
import { LOCK_KEYS } from './lock-keys';
import { Migration, migrations as allMigrations } from './migrations';

export interface MigrationResult {
  applied: number[];
}

/**
 * Applies pending migrations under a session-level advisory lock, so several apps of several
 * clusters starting at the same moment migrate once: the first holds the lock and applies,
 * the others wait and then find nothing left to do.
 */
export async function migrate(pool: Pool, migrations: readonly Migration[] = allMigrations): Promise<MigrationResult> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEYS.migrations]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migration (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const done = await client.query<{ version: number }>('SELECT version FROM schema_migration');
      const appliedBefore = new Set(done.rows.map((row) => row.version));
      const applied: number[] = [];
      for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
        if (appliedBefore.has(migration.version)) continue;
        await client.query('BEGIN');
        // A migration may rewrite a large table: no statement timeout for it (the pool's is for requests).
        await client.query('SET LOCAL statement_timeout = 0');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO schema_migration (version, name) VALUES ($1, $2)', [
            migration.version,
            migration.name,
          ]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw new Error(`migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`);
        }
        applied.push(migration.version);
      }
      return { applied };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEYS.migrations]);
    }
  } finally {
    client.release();
  }
}
