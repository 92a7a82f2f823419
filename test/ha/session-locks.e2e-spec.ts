import { randomInt } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { LeaderDuty } from '@infrabox/app-runtime';
import { Database, lockKeyOf, SessionLocks } from '@infrabox/database';
import { databaseUrl, eventually, openDatabase } from '../support/database';

/** The claims and leadership the replicas coordinate with, against the real PostgreSQL. */
describe('SessionLocks and LeaderDuty (real PostgreSQL)', () => {
  let db: Database;
  const opened: Array<{ close(): Promise<void> } | { stop(): Promise<void> }> = [];

  beforeAll(() => {
    db = openDatabase(2);
  });

  afterAll(async () => {
    for (const item of opened) await ('close' in item ? item.close() : item.stop());
    await db.close();
  });

  const name = () => `test-${randomInt(1, 2 ** 47)}`;
  const quiet = Object.assign(new Logger('leader-duty test'), { log: () => undefined, warn: () => undefined });
  const HOLDER = `infrabox[${process.pid}] session-locks test`;
  const locks = (onLost?: (key: bigint) => void, applicationName = HOLDER) => {
    const created = new SessionLocks({ databaseUrl: databaseUrl(), applicationName, onLost });
    opened.push(created);
    return created;
  };

  /** Ends the server sessions of this test's lock holders, as a chaos driver or a failover would. */
  async function terminateSessions(): Promise<number> {
    const rows = await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [HOLDER]);
    return rows.length;
  }

  it('one holder per key across sessions; unlock and close free it', async () => {
    const [first, second] = [locks(), locks()];
    const key = lockKeyOf('transfer', name());
    expect(await first.tryLock(key)).toBe(true);
    expect(await first.tryLock(key)).toBe(false); // never twice in one process either
    expect(await second.tryLock(key)).toBe(false);
    await first.unlock(key);
    expect(await second.tryLock(key)).toBe(true);
    await second.close();
    expect(await first.tryLock(key)).toBe(true);
    await first.close();
  });

  it('a terminated session takes its locks back on a new one, so nobody else gets them', async () => {
    const lost: bigint[] = [];
    const [holder, other] = [locks((key) => lost.push(key)), locks(undefined, `infrabox[${process.pid}] session-locks other`)];
    const keys = [lockKeyOf('transfer', name()), lockKeyOf('transfer', name())];
    for (const key of keys) expect(await holder.tryLock(key)).toBe(true);
    expect(await terminateSessions()).toBe(1);
    await eventually(async () => {
      const [{ n }] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = $1`,
        [HOLDER],
      );
      return n === 2;
    }, 5_000, 'the locks to be taken again');
    for (const key of keys) expect(await other.tryLock(key)).toBe(false);
    expect(holder.heldCount).toBe(2);
    expect(lost).toEqual([]);
  });

  it('LeaderDuty: one leader runs the work; when it stops another leads within takeOverMs', async () => {
    const dutyName = name();
    const runs = [0, 0];
    const duties = [0, 1].map((i) => {
      const duty = new LeaderDuty({
        name: dutyName,
        databaseUrl: databaseUrl(),
        intervalMs: 200,
        takeOverMs: 100,
        applicationName: 'leader-duty test',
        work: async () => void runs[i]++,
        logger: quiet,
      });
      opened.push(duty);
      duty.start();
      return duty;
    });
    await eventually(() => runs[0] + runs[1] >= 3, 5_000, 'the work to run');
    const leader = duties.findIndex((d) => d.isLeader);
    expect(leader).toBeGreaterThanOrEqual(0);
    expect(runs[1 - leader]).toBe(0);
    expect(duties[1 - leader].isLeader).toBe(false);

    await duties[leader].stop();
    const stoppedAt = Date.now();
    await eventually(() => duties[1 - leader].isLeader, 2_000, 'the take-over');
    expect(Date.now() - stoppedAt).toBeLessThan(1_000);
    const before = runs[1 - leader];
    await eventually(() => runs[1 - leader] > before, 2_000, 'the new leader to run the work');
  });
});
