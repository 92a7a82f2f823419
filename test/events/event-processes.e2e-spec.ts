import { Database } from '@infrabox/database';
import { TestProcess } from '../support/processes';
import { openDatabase, uniqueEventType } from '../support/database';

/** Events handled by a consumer process, from its `H <type> <id> <tag> <seq>` lines. */
function handledIds(consumer: TestProcess): string[] {
  return consumer.lines.filter((line) => line.startsWith('H ')).map((line) => line.split(' ')[2]);
}

function startPeer(args: Record<string, unknown>): TestProcess {
  return new TestProcess('test/support/event-peer.js', [JSON.stringify(args)]);
}

async function startConsumerProcess(args: Record<string, unknown>): Promise<TestProcess> {
  const consumer = startPeer({ mode: 'consume', ...args });
  await consumer.waitFor((lines) => lines.includes('READY'), 30_000, 'consumer ready');
  return consumer;
}

async function emitFromProcess(args: Record<string, unknown>): Promise<void> {
  const emitter = startPeer({ mode: 'emit', ...args });
  expect(await emitter.exited).toBe(0);
}

function expectExactlyOnce(ids: string[], expected: string[]): void {
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort()).toEqual([...expected].sort());
}

describe('event backbone across processes (real PostgreSQL)', () => {
  let db: Database;
  const processes: TestProcess[] = [];

  beforeAll(() => {
    db = openDatabase();
  });
  afterEach(async () => {
    for (const p of processes.splice(0)) {
      p.kill();
      await p.exited;
    }
  });
  afterAll(() => db.close());

  const idsOf = async (type: string) =>
    (await db.query<{ id: string }>('SELECT id FROM event WHERE type = $1 ORDER BY id', [type])).map((r) => r.id);

  it('delivers an event emitted by one process to a handler in another', async () => {
    const type = uniqueEventType();
    const consumer = await startConsumerProcess({ app: 'scheduler', cluster: 'w1', types: [type] });
    processes.push(consumer);
    await emitFromProcess({ type, count: 3, tag: 'hello' });
    await consumer.waitFor((lines) => handledIds(consumer).length === 3, 10_000, '3 events');
    expect(consumer.lines.filter((l) => l.startsWith('H ')).map((l) => l.split(' ').slice(3).join(' '))).toEqual([
      'hello 0',
      'hello 1',
      'hello 2',
    ]);
  });

  it('misses nothing and repeats nothing while its listener connection is killed every 100 ms', async () => {
    const type = uniqueEventType();
    const consumer = await startConsumerProcess({ app: 'victim', cluster: 'w1', types: [type] });
    processes.push(consumer);
    let kills = 0;
    let killing = true;
    const killer = (async () => {
      while (killing) {
        const rows = await db.query<{ killed: boolean }>(
          `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
            WHERE application_name = 'infrabox victim@w1 listener'`,
        );
        kills += rows.filter((r) => r.killed).length;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const emitter = startPeer({ mode: 'emit', type, count: 2_000, tag: 'k' });
    processes.push(emitter);
    expect(await emitter.exited).toBe(0);
    killing = false;
    await killer;
    const expected = await idsOf(type);
    expect(expected).toHaveLength(2_000);
    await consumer.waitFor(() => handledIds(consumer).length >= 2_000, 30_000, 'all 2,000 events');
    // Leave room for a duplicate to show up before judging.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(kills).toBeGreaterThan(5);
    expectExactlyOnce(handledIds(consumer), expected);
  });

  it('with 2 processes emitting 1,000 events each at once, each consumer handles every event exactly once', async () => {
    const type = uniqueEventType();
    const consumers = await Promise.all([
      startConsumerProcess({ app: 'scheduler', cluster: 'w1', types: [type] }),
      startConsumerProcess({ app: 'output-forwarder', cluster: 'w1', types: [type] }),
    ]);
    processes.push(...consumers);
    const emitters = [
      startPeer({ mode: 'emit', type, count: 1_000, tag: 'a' }),
      startPeer({ mode: 'emit', type, count: 1_000, tag: 'b', perTransaction: 10 }),
    ];
    processes.push(...emitters);
    expect(await Promise.all(emitters.map((e) => e.exited))).toEqual([0, 0]);
    const expected = await idsOf(type);
    expect(expected).toHaveLength(2_000);
    for (const consumer of consumers) {
      await consumer.waitFor(() => handledIds(consumer).length >= 2_000, 30_000, 'all 2,000 events');
    }
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const consumer of consumers) expectExactlyOnce(handledIds(consumer), expected);
  });

  it('a restarted consumer process replays what it missed and nothing it had handled', async () => {
    const type = uniqueEventType();
    const first = await startConsumerProcess({ app: 'restart', cluster: 'w1', types: [type] });
    processes.push(first);
    await emitFromProcess({ type, count: 50, tag: 'before' });
    await first.waitFor(() => handledIds(first).length === 50, 10_000, '50 events');
    first.kill('SIGTERM');
    await first.exited;
    await emitFromProcess({ type, count: 50, tag: 'while-down' });
    const second = await startConsumerProcess({ app: 'restart', cluster: 'w1', types: [type] });
    processes.push(second);
    await second.waitFor(() => handledIds(second).length >= 50, 10_000, 'missed events');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const all = await idsOf(type);
    expectExactlyOnce(handledIds(second), all.slice(50));
  });
});
