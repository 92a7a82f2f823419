import { Client, Notification } from 'pg';
import { Database } from '@infrabox/database';
import { EventRepository } from '@infrabox/events';
import { databaseUrl, eventually, openDatabase } from '../support/database';

/**
 * The event table's trigger: an unscoped event is notified on its plain channel, a
 * cluster-scoped one on its cluster's channel and the every-cluster channel (never the plain
 * one), and each message carries the event's created_at as `at`.
 */
describe('event NOTIFY channels', () => {
  let listener: Client;
  let writer: Client;
  const received: Notification[] = [];
  const type = `t${Date.now().toString(36)}.ping`;
  const channel = type.replace('.', '_');

  beforeAll(async () => {
    listener = new Client({ connectionString: databaseUrl() });
    writer = new Client({ connectionString: databaseUrl() });
    await Promise.all([listener.connect(), writer.connect()]);
    listener.on('notification', (n) => received.push(n));
    for (const name of [channel, `${channel}@c1`, `${channel}@c2`, `${channel}@*`]) await listener.query(`LISTEN "${name}"`);
  });

  afterAll(async () => {
    await writer.query('DELETE FROM event WHERE type = $1', [type]);
    await Promise.all([listener.end(), writer.end()]);
  });

  beforeEach(() => received.splice(0));

  it('sends a scoped event to its cluster and to every-cluster readers, an unscoped one to the plain channel', async () => {
    const before = Date.now() - 1000;
    const scoped = await writer.query<{ id: string }>('INSERT INTO event (type, cluster, payload) VALUES ($1, $2, $3) RETURNING id', [type, 'c1', { n: 1 }]);
    const plain = await writer.query<{ id: string }>('INSERT INTO event (type, cluster, payload) VALUES ($1, NULL, $2) RETURNING id', [type, { n: 2 }]);
    await eventually(() => received.length >= 3, 5_000, "3 notifications");
    await new Promise((resolve) => setTimeout(resolve, 200)); // and no more than 3
    expect(received).toHaveLength(3);

    const byChannel = received.map((n) => [n.channel, JSON.parse(n.payload ?? '{}')] as const);
    expect(byChannel.map(([name, message]) => [name, String(message.id)]).sort()).toEqual(
      [
        [`${channel}@c1`, scoped.rows[0].id],
        [`${channel}@*`, scoped.rows[0].id],
        [channel, plain.rows[0].id],
      ].sort(),
    );
    for (const [, message] of byChannel) {
      expect(message.type).toBe(type);
      expect(message.at).toBeGreaterThanOrEqual(before);
      expect(message.at).toBeLessThanOrEqual(Date.now() + 1000);
    }
  });

  it('sends a transaction’s first event per channel in full and all its later ones there as one marker', async () => {
    await writer.query('BEGIN');
    const ids: string[] = [];
    for (const cluster of ['c1', 'c2', 'c1', 'c1', 'c2', null, null]) {
      const { rows } = await writer.query<{ id: string }>('INSERT INTO event (type, cluster, payload) VALUES ($1, $2, $3) RETURNING id', [type, cluster, { n: ids.length }]);
      ids.push(rows[0].id);
    }
    // A batch in one statement counts the same.
    await writer.query(`INSERT INTO event (type, cluster, payload) SELECT $1, 'c2', jsonb_build_object('n', n) FROM generate_series(1, 50) n`, [type]);
    const { rows: tx } = await writer.query<{ tx: string }>('SELECT pg_current_xact_id()::text AS tx');
    await writer.query('COMMIT');

    // c1: first in full + marker; c2: first in full + marker; @*: first (c1's) in full + marker; plain: first in full + marker.
    await eventually(() => received.length >= 8, 5_000, '8 notifications');
    await new Promise((resolve) => setTimeout(resolve, 200)); // and no more than 8
    expect(received).toHaveLength(8);
    const messages = received.map((n) => ({ channel: n.channel, message: JSON.parse(n.payload ?? '{}') }));
    const full = messages.filter((m) => m.message.data !== undefined).map((m) => [m.channel, String(m.message.id)]);
    expect(full.sort()).toEqual(
      [
        [`${channel}@c1`, ids[0]],
        [`${channel}@*`, ids[0]],
        [`${channel}@c2`, ids[1]],
        [channel, ids[5]],
      ].sort(),
    );
    const markers = messages.filter((m) => m.message.data === undefined);
    expect(markers.map((m) => m.channel).sort()).toEqual([channel, `${channel}@*`, `${channel}@c1`, `${channel}@c2`].sort());
    for (const { message } of markers) expect(message).toEqual({ tx: tx[0].tx, type, more: true });

    // The next transaction starts afresh: its first event comes in full again.
    received.splice(0);
    const next = await writer.query<{ id: string }>('INSERT INTO event (type, cluster, payload) VALUES ($1, $2, $3) RETURNING id', [type, 'c1', { n: 99 }]);
    await eventually(() => received.length >= 2, 5_000, '2 notifications');
    expect(received.map((n) => JSON.parse(n.payload ?? '{}').id).map(String)).toEqual([next.rows[0].id, next.rows[0].id]);
  });

  it('announces a batch insert packed on each event’s own channel (every event once, no message over 8000 bytes) and with one marker on the every-cluster channel', async () => {
    const db: Database = openDatabase(1);
    try {
      const clusters = ['c1', 'c2', null];
      const rows = Array.from({ length: 300 }, (_, n) => ({
        cluster: clusters[n % 3],
        // Two of them too big to travel in a batch: announced by id, to be read from the table.
        payload: n === 7 || n === 8 ? { n, blob: 'x'.repeat(3_500) } : { n, pad: 'y'.repeat(n % 50) },
      }));
      const ids = await new EventRepository(db).insertMany(type, rows);
      expect(ids).toHaveLength(300);
      const [{ tx }] = await db.query<{ tx: string }>('SELECT tx_id::text AS tx FROM event WHERE id = $1', [ids[0]]);

      const expected = new Map<string, string[]>();
      rows.forEach((row, n) => {
        const name = row.cluster === null ? channel : `${channel}@${row.cluster}`;
        expected.set(name, [...(expected.get(name) ?? []), ids[n]]);
      });
      const announced = () => received.flatMap((n) => JSON.parse(n.payload ?? '{}').batch ?? []).length;
      await eventually(() => announced() >= 300 && received.some((n) => n.channel === `${channel}@*`), 5_000, '300 announced events and the marker');
      await new Promise((resolve) => setTimeout(resolve, 200)); // and no more

      const seen = new Map<string, string[]>();
      for (const n of received) {
        expect(Buffer.byteLength(n.payload ?? '')).toBeLessThan(8000);
        if (n.channel === `${channel}@*`) {
          expect(JSON.parse(n.payload ?? '{}')).toEqual({ tx, type, more: true });
          continue;
        }
        const { batch } = JSON.parse(n.payload ?? '{}') as { batch: Array<{ id: number; tx: string; type: string; data?: { n: number } }> };
        for (const event of batch) {
          seen.set(n.channel, [...(seen.get(n.channel) ?? []), String(event.id)]);
          expect([event.type, event.tx]).toEqual([type, tx]);
          const index = ids.indexOf(String(event.id));
          if (index === 7 || index === 8) expect(event.data).toBeUndefined();
          else expect(event.data).toEqual(rows[index].payload);
        }
      }
      expect(seen).toEqual(expected);
      expect(received.filter((n) => n.channel === `${channel}@*`)).toHaveLength(1);
      // Packed: far fewer messages than events.
      expect(received.length).toBeLessThan(20);
    } finally {
      await db.close();
    }
  });
});
