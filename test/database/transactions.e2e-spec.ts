import { createPool, Database } from '@infrabox/database';
import { openDatabase } from '../support/database';

const backendPid = async (db: Database) => (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0].pid;

/** Several Databases in one process (bench:scale hosts 25 simulated clusters per process). */
describe('transactions of two Database instances in one process', () => {
  let a: Database;
  let b: Database;

  beforeAll(() => {
    a = openDatabase(2);
    b = openDatabase(2);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('run on their own instance’s connection, even when one is opened inside the other', async () => {
    await a.transaction(async () => {
      const outerPid = await backendPid(a);
      expect(a.inTransaction).toBe(true);
      expect(b.inTransaction).toBe(false);
      // b outside a transaction: a connection of b's pool, not a's transaction connection.
      expect(await backendPid(b)).not.toBe(outerPid);

      await b.transaction(async () => {
        const innerPid = await backendPid(b);
        expect(innerPid).not.toBe(outerPid);
        expect(await backendPid(b)).toBe(innerPid);
        // a's queries still join a's open transaction.
        expect(await backendPid(a)).toBe(outerPid);
        expect(a.inTransaction && b.inTransaction).toBe(true);
      });
      expect(b.inTransaction).toBe(false);
      expect(await backendPid(a)).toBe(outerPid);
      // A nested call of the same instance joins the outer transaction.
      await a.transaction(async () => expect(await backendPid(a)).toBe(outerPid));
    });
    expect(a.inTransaction).toBe(false);
  });

  it('a callback created inside a transaction that runs after it has ended uses the pool, not the handed-back connection', async () => {
    let transactionPid = 0;
    let later!: Promise<{ inTransaction: boolean; pid: number }>;
    await a.transaction(async () => {
      transactionPid = await backendPid(a);
      // A timer started inside the transaction carries its async context past its end.
      later = new Promise((resolve, reject) =>
        setTimeout(() => {
          const inTransaction = a.inTransaction;
          backendPid(a).then((pid) => resolve({ inTransaction, pid }), reject);
        }, 300),
      );
    });
    // The handed-back connection dies (as in a server restart) before the callback runs.
    await b.query('SELECT pg_terminate_backend($1)', [transactionPid]);
    const { inTransaction, pid } = await later;
    expect(inTransaction).toBe(false);
    expect(pid).not.toBe(transactionPid);
  });

  it('roll back independently: b’s commit survives a’s rollback', async () => {
    const table = `tx_probe_${process.pid}`;
    await a.query(`CREATE TABLE IF NOT EXISTS ${table} (owner text)`);
    try {
      await expect(
        a.transaction(async () => {
          await a.query(`INSERT INTO ${table} VALUES ('a')`);
          await b.transaction(() => b.query(`INSERT INTO ${table} VALUES ('b')`));
          throw new Error('a gives up');
        }),
      ).rejects.toThrow('a gives up');
      expect(await a.query(`SELECT owner FROM ${table}`)).toEqual([{ owner: 'b' }]);
    } finally {
      await a.query(`DROP TABLE ${table}`);
    }
  });
});

describe('statement timeout of the pools', () => {
  it('cancels a statement over the pool’s timeout (60 s by default) and keeps the connection usable', async () => {
    const url = process.env.DATABASE_URL!;
    const db = new Database(createPool(url, 1, { statementTimeoutMs: 300 }), url);
    try {
      await expect(db.query('SELECT pg_sleep(2)')).rejects.toThrow('canceling statement due to statement timeout');
      expect(await db.query<{ ok: number }>('SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
      expect((await db.query<{ timeout: string }>("SELECT current_setting('statement_timeout') AS timeout"))[0].timeout).toBe('300ms');
    } finally {
      await db.close();
    }
    const defaults = new Database(createPool(url, 1), url);
    try {
      expect((await defaults.query<{ timeout: string }>("SELECT current_setting('statement_timeout') AS timeout"))[0].timeout).toBe('1min'); // 60 s, as PostgreSQL shows it
    } finally {
      await defaults.close();
    }
  });
});
