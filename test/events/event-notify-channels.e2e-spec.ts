import { Client, Notification } from 'pg';
import { databaseUrl, eventually } from '../support/database';

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
});
