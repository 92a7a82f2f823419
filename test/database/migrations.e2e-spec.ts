import { createPool, Database } from '@infrabox/database';
import { migrations } from '@infrabox/database';
import { TestProcess } from '../support/processes';
import { createScratchDatabase, openDatabase } from '../support/database';

describe('migrations', () => {
  let db: Database;
  beforeAll(() => {
    db = openDatabase();
  });
  afterAll(() => db.close());

  it('started from 4 processes at the same moment, apply once and all succeed', async () => {
    const url = await createScratchDatabase(db);
    const peers = Array.from({ length: 4 }, () => new TestProcess('test/support/migrate-peer.js', [url]));
    const codes = await Promise.all(peers.map((p) => p.exited));
    expect(codes).toEqual([0, 0, 0, 0]);
    const results = peers.map((p) => JSON.parse(p.lines[0]) as { applied: number[] });
    const versions = migrations.map((m) => m.version);
    expect(results.filter((r) => r.applied.length > 0)).toEqual([{ applied: versions }]);
    expect(results.filter((r) => r.applied.length === 0)).toHaveLength(3);

    const scratch = new Database(createPool(url), url);
    try {
      const rows = await scratch.query<{ version: number }>('SELECT version FROM schema_migration ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(versions);
      const tables = await scratch.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
      );
      expect(tables.map((t) => t.table_name)).toEqual(
        expect.arrayContaining(['build', 'cluster', 'event', 'event_consumer', 'job', 'job_dependency', 'job_output', 'project']),
      );
    } finally {
      await scratch.close();
    }
  });
});
