import { Database } from '@infrabox/database';
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
