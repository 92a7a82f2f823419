import { currentClusterOf, InstallConfig } from '@infrabox/config';
import { createPool, Database, migrate } from '@infrabox/database';
import { EventConsumerRepository, EventRepository, PgEventClient } from '@infrabox/events';
import { EventConsumersService } from '../../apps/api/src/events/event-consumers.service';
import { EventPruningService } from '../../apps/registry/src/event-pruning/event-pruning.service';
import { DEFAULT_REGISTRY_OPTIONS } from '../../apps/registry/src/registry.options';
import { startConsumer, TestConsumer } from '../support/consumer';
import { createScratchDatabase, eventually, openDatabase, uniqueEventType } from '../support/database';

const RETENTION_SECONDS = 600;

/**
 * The event pruner against real PostgreSQL and real consumers (the transport server), in a
 * database of its own so that nothing else's events or consumers take part. Age is made by
 * moving `created_at` / `updated_at` back an hour: the rule is about those timestamps, and
 * waiting ten minutes for them would test nothing more.
 */
describe('event pruning (real PostgreSQL, real consumers)', () => {
  let shared: Database;
  let db: Database;
  let client: PgEventClient;
  let pruner: EventPruningService;
  const config = { cluster: { name: 'master', labels: [], isMaster: true }, events: { retentionSeconds: RETENTION_SECONDS } } as unknown as InstallConfig;
  const consumers: TestConsumer[] = [];

  beforeAll(async () => {
    shared = openDatabase();
    const url = await createScratchDatabase(shared);
    db = new Database(createPool(url), url);
    await migrate(db.pool);
    client = new PgEventClient(new EventRepository(db));
    pruner = new EventPruningService(config, currentClusterOf(config), db, new EventRepository(db), new EventConsumerRepository(db), DEFAULT_REGISTRY_OPTIONS);
  });
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await pruner.onModuleDestroy();
    await db.close();
    await shared.close();
  });

  const consume = async (app: string, type: string, handle?: (payload: { seq: number }) => void) => {
    const consumer = await startConsumer(db, {
      app,
      types: [type],
      saveIntervalMs: 20,
      touchIntervalMs: 200,
      retryBaseMs: 100,
      retryMaxMs: 200,
      handle: handle ? (event) => handle(event.payload as { seq: number }) : undefined,
    });
    consumers.push(consumer);
    return consumer;
  };
  const stop = async (consumer: TestConsumer) => {
    consumers.splice(consumers.indexOf(consumer), 1);
    await consumer.close();
  };
  const emit = async (type: string, seq: number): Promise<string> => (await client.emitAny(type, { seq })) as string;
  const seqs = (consumer: TestConsumer) => consumer.handled.map((e) => (e.payload as { seq: number }).seq);
  const remaining = async (type: string) =>
    (await db.query<{ seq: number }>(`SELECT (payload->>'seq')::int AS seq FROM event WHERE type = $1 ORDER BY id`, [type])).map((r) => r.seq);
  const age = (type: string) => db.query(`UPDATE event SET created_at = now() - interval '1 hour' WHERE type = $1`, [type]);
  const leaveLongAgo = (app: string, type: string) =>
    db.query(`UPDATE event_consumer SET updated_at = now() - interval '2 hours' WHERE name = $1`, [`${app}:master:${type}`]);
  /** The consumer's saved position (what the pruner judges by) has passed every given event. */
  const savedPast = (app: string, type: string, ids: string[]) =>
    eventually(
      async () => {
        const [row] = await db.query<{ passed: boolean }>(
          `SELECT bool_and(e.tx_id < c.horizon OR e.id = ANY (c.handled_ids)) AS passed
             FROM event e, event_consumer c WHERE c.name = $1 AND e.id = ANY ($2::bigint[])`,
          [`${app}:master:${type}`, ids],
        );
        return row?.passed === true;
      },
      10_000,
      `${app}'s saved position past events ${ids.join(', ')}`,
    );

  it('deletes events older than the retention that every consumer has passed, and keeps younger ones', async () => {
    const type = uniqueEventType();
    const a = await consume('a', type);
    const b = await consume('b', type);
    const ids = [await emit(type, 1), await emit(type, 2), await emit(type, 3)];
    await eventually(() => a.handled.length === 3 && b.handled.length === 3, 10_000, 'both consumers handled all');
    await savedPast('a', type, ids);
    await savedPast('b', type, ids);

    await pruner.prune();
    expect(await remaining(type)).toEqual([1, 2, 3]); // passed, but younger than the retention
    await age(type);
    const result = await pruner.prune();
    expect(result.deleted).toBe(3);
    expect(await remaining(type)).toEqual([]);
  });

  it('keeps an event one consumer has not handled (past its horizon or not), and deletes it once handled', async () => {
    const type = uniqueEventType();
    let failSeq2 = true;
    const a = await consume('a', type);
    const b = await consume('b', type, ({ seq }) => {
      if (seq === 2 && failSeq2) throw new Error('not yet');
    });
    const ids = [await emit(type, 1), await emit(type, 2), await emit(type, 3)];
    await eventually(() => a.handled.length === 3 && seqs(b).join() === '1,3', 10_000, 'a handled all, b all but 2');
    await savedPast('a', type, ids);
    await savedPast('b', type, [ids[0], ids[2]]);
    // Event 3 lies above b's horizon (held at the failing event 2): only b's handled ids pass it.
    const [position] = await db.query<{ above: boolean }>(
      `SELECT e.tx_id >= c.horizon AS above FROM event e, event_consumer c WHERE c.name = $1 AND e.id = $2`,
      [`b:master:${type}`, ids[2]],
    );
    expect(position.above).toBe(true);

    await age(type);
    await pruner.prune();
    expect(await remaining(type)).toEqual([2]);

    failSeq2 = false;
    await eventually(() => seqs(b).includes(2), 10_000, 'b handles event 2 on retry');
    await savedPast('b', type, [ids[1]]);
    await pruner.prune();
    expect(await remaining(type)).toEqual([]);
  });

  it('waits for a stopped consumer within the retention; one gone longer is reported and no longer waited for', async () => {
    const type = uniqueEventType();
    const gone = await consume('gone', type);
    await stop(gone);
    const a = await consume('a', type);
    const id = await emit(type, 1);
    await eventually(() => a.handled.length === 1, 10_000, 'a handled the event');
    await savedPast('a', type, [id]);
    await age(type);

    let result = await pruner.prune();
    expect(await remaining(type)).toEqual([1]);
    expect(result.goneConsumers.map((c) => c.name)).not.toContain(`gone:master:${type}`);

    await leaveLongAgo('gone', type);
    result = await pruner.prune();
    expect(await remaining(type)).toEqual([]);
    expect(result.goneConsumers).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: `gone:master:${type}`, type, cluster: 'master' })]),
    );

    // The api's view (GET /api/v1/events/consumers) shows which consumers are gone.
    const view = await new EventConsumersService(new EventConsumerRepository(db), config).list();
    expect(view.filter((c) => c.type === type).map((c) => [c.name, c.gone])).toEqual([
      [`gone:master:${type}`, true],
      [`a:master:${type}`, false],
    ]);
  });

  it('a consumer restarting after pruning gets every event it had not handled, unless it was gone past the retention', async () => {
    const type = uniqueEventType();
    const a = await consume('a', type);
    let restarting = await consume('r', type);
    const first = await emit(type, 1);
    await eventually(() => restarting.handled.length === 1 && a.handled.length === 1, 10_000, 'event 1 handled by both');
    await savedPast('r', type, [first]);
    await stop(restarting);

    const missed = [await emit(type, 2), await emit(type, 3)];
    await eventually(() => a.handled.length === 3, 10_000, 'a handled 2 and 3');
    await savedPast('a', type, missed);
    await age(type);
    await pruner.prune();
    expect(await remaining(type)).toEqual([2, 3]);

    restarting = await consume('r', type);
    await eventually(() => restarting.handled.length === 2, 10_000, 'r catches up');
    await new Promise((resolve) => setTimeout(resolve, 1_200)); // a full safety poll: nothing more comes
    expect(seqs(restarting)).toEqual([2, 3]);
    await savedPast('r', type, missed);
    await pruner.prune();
    expect(await remaining(type)).toEqual([]);

    // Gone past the retention: what it missed meanwhile is pruned, and it resumes after that.
    await stop(restarting);
    const lost = await emit(type, 4);
    await eventually(() => a.handled.length === 4, 10_000, 'a handled 4');
    await savedPast('a', type, [lost]);
    await age(type);
    await leaveLongAgo('r', type);
    await pruner.prune();
    expect(await remaining(type)).toEqual([]);
    restarting = await consume('r', type);
    await emit(type, 5);
    await eventually(() => restarting.handled.length === 1, 10_000, 'r handles the next event');
    expect(seqs(restarting)).toEqual([5]);
  });

  it('keeps events in event_dead_letter for an operator', async () => {
    const type = uniqueEventType();
    const a = await startConsumer(db, {
      app: 'a',
      types: [type],
      saveIntervalMs: 20,
      maxAttempts: 1,
      handle: () => {
        throw new Error('always fails');
      },
    });
    consumers.push(a);
    const id = await emit(type, 1);
    await eventually(async () => (await db.query('SELECT 1 FROM event_dead_letter WHERE event_id = $1', [id])).length === 1, 10_000, 'dead letter');
    await savedPast('a', type, [id]);
    await age(type);
    await pruner.prune();
    expect(await remaining(type)).toEqual([1]);
  });

  it('is led by one registry at a time', async () => {
    const config = { cluster: { name: 'worker', labels: [], isMaster: false }, events: { retentionSeconds: RETENTION_SECONDS } } as unknown as InstallConfig;
    const other = new EventPruningService(config, currentClusterOf(config), db, new EventRepository(db), new EventConsumerRepository(db), DEFAULT_REGISTRY_OPTIONS);
    try {
      const first = await pruner.tick();
      const second = await other.tick();
      expect(first).not.toBeNull();
      expect(second).toBeNull();
      await pruner.onModuleDestroy(); // the leader goes away: the other takes over at its next tick
      expect(await other.tick()).not.toBeNull();
    } finally {
      await other.onModuleDestroy();
    }
  });
});
