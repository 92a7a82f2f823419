import { Database } from '@infrabox/database';
import { EventRepository, forCluster, PgEventClient } from '@infrabox/events';
import { startConsumer, TestConsumer } from '../support/consumer';
import { eventually, openDatabase, uniqueEventType } from '../support/database';

describe('event delivery (one process, real PostgreSQL)', () => {
  let db: Database;
  let client: PgEventClient;
  const consumers: TestConsumer[] = [];

  beforeAll(() => {
    db = openDatabase();
    client = new PgEventClient(new EventRepository(db));
  });
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.close()));
  });
  afterAll(() => db.close());

  const emit = (type: string, data: unknown) => client.emitAny(type, data);
  const consume = async (...args: Parameters<typeof startConsumer>) => {
    const consumer = await startConsumer(...args);
    consumers.push(consumer);
    return consumer;
  };
  const seqs = (consumer: TestConsumer) => consumer.handled.map((e) => (e.payload as { seq: number }).seq);

  it('never delivers an event emitted in a rolled-back transaction', async () => {
    const type = uniqueEventType();
    const consumer = await consume(db, { types: [type] });
    await expect(
      db.transaction(async () => {
        await emit(type, { seq: 1 });
        throw new Error('state change failed');
      }),
    ).rejects.toThrow('state change failed');
    await db.transaction(() => emit(type, { seq: 2 }));
    await eventually(() => consumer.handled.length >= 1, 10_000, 'the committed event');
    // Give a wrongly delivered event every chance to show up: a full safety poll and more.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(seqs(consumer)).toEqual([2]);
    const [{ count }] = await db.query<{ count: string }>('SELECT count(*) FROM event WHERE type = $1', [type]);
    expect(count).toBe('1');
  });

  it('delivers an event committed while an older writing transaction is still open, without waiting for it', async () => {
    const type = uniqueEventType();
    const consumer = await consume(db, { types: [type] });
    const longTx = await db.pool.connect();
    try {
      await longTx.query('BEGIN');
      await longTx.query("INSERT INTO event (type, payload) VALUES ($1, '{\"seq\":1}')", [type]);
      const started = Date.now();
      await emit(type, { seq: 2 });
      await eventually(() => consumer.handled.length === 1, 5_000, 'the later event');
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(seqs(consumer)).toEqual([2]);
      await longTx.query('COMMIT');
    } finally {
      longTx.release();
    }
    await eventually(() => consumer.handled.length === 2, 5_000, 'the late-committing event');
    expect(seqs(consumer)).toEqual([2, 1]);
  });

  it('catches up after downtime on rows that committed out of id order, once each', async () => {
    const type = uniqueEventType();
    const first = await consume(db, { types: [type], app: 'catchup' });
    await emit(type, { seq: 0 });
    await eventually(() => first.handled.length === 1, 5_000, 'first event');
    await first.close();
    consumers.splice(consumers.indexOf(first), 1);

    // While the consumer is down: A takes the smaller id but commits after B.
    const a = await db.pool.connect();
    try {
      await a.query('BEGIN');
      await a.query("INSERT INTO event (type, payload) VALUES ($1, '{\"seq\":1}')", [type]);
      await emit(type, { seq: 2 });
      const second = await consume(db, { types: [type], app: 'catchup' });
      await eventually(() => second.handled.length === 1, 5_000, 'B after restart');
      await a.query('COMMIT');
      await eventually(() => second.handled.length === 2, 5_000, 'A after it commits');
      expect(seqs(second)).toEqual([2, 1]);
      await second.close();
      consumers.splice(consumers.indexOf(second), 1);
    } finally {
      a.release();
    }

    // A third start with every NOTIFY long gone must find nothing left to do.
    const third = await consume(db, { types: [type], app: 'catchup' });
    await emit(type, { seq: 3 });
    await eventually(() => third.handled.length >= 1, 5_000, 'new event');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(seqs(third)).toEqual([3]);
  });

  it('finds an event whose NOTIFY never came through the safety poll, and moves its durable horizon on', async () => {
    const type = uniqueEventType();
    const consumer = await consume(db, { types: [type], app: 'poll', pollIntervalMs: 200 });
    await emit(type, { seq: 1 });
    await eventually(() => consumer.handled.length === 1, 5_000, 'notified event');
    // Triggers do not fire in replica mode: this row arrives without any NOTIFY.
    const silent = await db.pool.connect();
    try {
      await silent.query('SET session_replication_role = replica');
      await silent.query("INSERT INTO event (type, payload) VALUES ($1, '{\"seq\":2}')", [type]);
    } finally {
      await silent.query('SET session_replication_role = DEFAULT');
      silent.release();
    }
    await eventually(() => consumer.handled.length === 2, 5_000, 'the silent event, through the poll');
    expect(seqs(consumer)).toEqual([1, 2]);
    const [{ max }] = await db.query<{ max: string }>('SELECT max(tx_id)::text AS max FROM event WHERE type = $1', [type]);
    await eventually(async () => {
      const [row] = await db.query<{ passed: boolean; handled: number }>(
        'SELECT horizon > $2::xid8 AS passed, cardinality(handled_ids) AS handled FROM event_consumer WHERE name = $1',
        [`poll:master:${type}`, max],
      );
      return row?.passed === true && row.handled === 0;
    }, 5_000, 'the durable horizon past both events');
  });

  it('delivers cluster-scoped events only to that cluster, unscoped ones to all', async () => {
    const type = uniqueEventType();
    const w1 = await consume(db, { types: [type], cluster: 'w1' });
    const w2 = await consume(db, { types: [type], cluster: 'w2' });
    const all = await consume(db, { types: [type], cluster: 'master', onlyOwnCluster: false });
    await emit(type, forCluster('w1', { seq: 1 }));
    await emit(type, forCluster('w2', { seq: 2 }));
    await emit(type, { seq: 3 });
    await eventually(() => all.handled.length === 3 && w1.handled.length === 2 && w2.handled.length === 2, 10_000, 'deliveries');
    expect(seqs(w1)).toEqual([1, 3]);
    expect(seqs(w2)).toEqual([2, 3]);
    expect(w1.handled[0].cluster).toBe('w1');
  });

  /** Readers of w1, of w2 and of every cluster whose poll is far beyond the test: only notifications can bring them events. */
  const readersWithoutPoll = async (type: string) => {
    const options = { types: [type], pollIntervalMs: 600_000 };
    return {
      w1: await consume(db, { ...options, cluster: 'w1' }),
      w2: await consume(db, { ...options, cluster: 'w2' }),
      all: await consume(db, { ...options, cluster: 'master', onlyOwnCluster: false }),
    };
  };
  /** The mixed workload of the next two tests: every 9th event unscoped, the others to w1 (even) or w2 (odd). */
  const scopeOf = (seq: number): 'w1' | 'w2' | null => (seq % 9 === 8 ? null : seq % 2 === 0 ? 'w1' : 'w2');
  const scoped = (seq: number, data: unknown) => (scopeOf(seq) === null ? data : forCluster(scopeOf(seq)!, data));
  const seenBy = (cluster: 'w1' | 'w2', seqs: number[]) => seqs.filter((seq) => scopeOf(seq) === null || scopeOf(seq) === cluster);

  it('delivers every event of a transaction that writes many per channel (one full message and one marker each), once, without the poll', async () => {
    const type = uniqueEventType();
    const { w1, w2, all } = await readersWithoutPoll(type);
    await db.transaction(async () => {
      for (let seq = 0; seq < 90; seq++) await emit(type, scoped(seq, { seq }));
    });
    const range = Array.from({ length: 90 }, (_, seq) => seq);
    await eventually(() => all.handled.length === 90 && w1.handled.length === 50 && w2.handled.length === 50, 10_000, 'deliveries');
    await new Promise((resolve) => setTimeout(resolve, 300)); // and nothing twice
    expect(seqs(all)).toEqual(range);
    expect(seqs(w1)).toEqual(seenBy('w1', range));
    expect(seqs(w2)).toEqual(seenBy('w2', range));
  });

  it('delivers a batch (emitBatch: packed messages, big events by id) to each cluster once, without the poll', async () => {
    const type = uniqueEventType();
    const { w1, w2, all } = await readersWithoutPoll(type);
    await client.emitAnyBatch(
      type,
      Array.from({ length: 400 }, (_, seq) => scoped(seq, seq % 50 === 0 ? { seq, blob: 'x'.repeat(3_500) } : { seq })),
    );
    const range = Array.from({ length: 400 }, (_, seq) => seq);
    await eventually(
      () => all.handled.length === 400 && w1.handled.length === seenBy('w1', range).length && w2.handled.length === seenBy('w2', range).length,
      10_000,
      'deliveries',
    );
    await new Promise((resolve) => setTimeout(resolve, 300)); // and nothing twice
    const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
    expect(sorted(seqs(all))).toEqual(range);
    expect(seqs(all)).toHaveLength(400);
    expect(sorted(seqs(w1))).toEqual(seenBy('w1', range));
    expect(sorted(seqs(w2))).toEqual(seenBy('w2', range));
  });

  it('retries a failing handler with backoff without holding back later events, then dead-letters it', async () => {
    const type = uniqueEventType();
    const attempts = new Map<number, number>();
    const consumer = await consume(db, {
      types: [type],
      app: 'flaky',
      maxAttempts: 3,
      retryBaseMs: 50,
      handle: (event) => {
        const seq = (event.payload as { seq: number }).seq;
        attempts.set(seq, (attempts.get(seq) ?? 0) + 1);
        if (seq === 1 && attempts.get(seq)! < 2) throw new Error('transient');
        if (seq === 2) throw new Error('poison');
      },
    });
    const ids = [await emit(type, { seq: 1 }), await emit(type, { seq: 2 }), await emit(type, { seq: 3 })];
    await eventually(() => seqs(consumer).includes(3), 5_000, 'event after the poison one');
    await eventually(async () => {
      const rows = await db.query('SELECT 1 FROM event_dead_letter WHERE event_id = $1', [ids[1]]);
      return rows.length === 1;
    }, 10_000, 'dead letter');
    expect(attempts.get(1)).toBe(2);
    expect(attempts.get(2)).toBe(3);
    expect(attempts.get(3)).toBe(1);
    expect(seqs(consumer).sort()).toEqual([1, 3]);
    const [letter] = await db.query<{ consumer: string; attempts: number; error: string }>(
      'SELECT consumer, attempts, error FROM event_dead_letter WHERE event_id = $1',
      [ids[1]],
    );
    expect(letter).toEqual({ consumer: `flaky:master:${type}`, attempts: 3, error: 'poison' });
  });

  it('rejects payloads too big for NOTIFY with a clear error and writes nothing', async () => {
    const type = uniqueEventType();
    await expect(emit(type, { blob: 'x'.repeat(5_000) })).rejects.toThrow(/payload is 50\d\d bytes, the limit is 4000/);
    await expect(emit('Bad Type!', {})).rejects.toThrow(/event type 'Bad Type!'/);
    const rows = await db.query('SELECT 1 FROM event WHERE type = $1', [type]);
    expect(rows).toHaveLength(0);
  });
});
