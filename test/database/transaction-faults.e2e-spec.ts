import { Client } from 'pg';
import { Database } from '@infrabox/database';
import { databaseUrl, openDatabase } from '../support/database';

describe('a transaction whose connection is lost between statements', () => {
  let db: Database;
  let admin: Client;

  beforeAll(async () => {
    db = openDatabase(1);
    admin = new Client({ connectionString: databaseUrl() });
    await admin.connect();
  });
  afterAll(async () => {
    await db.close();
    await admin.end();
  });

  it('fails the transaction instead of crashing the process, and the pool hands out a working connection after it', async () => {
    const outcome = db.transaction(async () => {
      const [{ pid }] = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      // No statement is running when the server's FATAL arrives: the client emits 'error'.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await db.query('SELECT 1');
    });
    await expect(outcome).rejects.toThrow(/terminat|not queryable/);
    // The pool has one slot: the dead client must have been destroyed, not handed back.
    await expect(db.query<{ one: number }>('SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
  });
});
