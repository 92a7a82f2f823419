import { createServer, Server, Socket } from 'node:net';
import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { EventListener, Notification } from '@infrabox/events';
import { databaseUrl, eventually } from '../support/database';

/**
 * A TCP proxy in front of PostgreSQL that drops the first connection at its first query (after
 * the start-up and authentication messages), as pg_terminate_backend between connect and LISTEN
 * would; later connections pass untouched.
 */
class FirstQueryCutter {
  private server: Server | null = null;
  connections = 0;
  cut = false;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<number> {
    this.server = createServer((client) => this.handle(client));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server!.close(() => resolve()));
  }

  private handle(client: Socket): void {
    const faulty = this.connections++ === 0;
    const upstream = new Socket().connect(this.target.port, this.target.host);
    upstream.pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    if (!faulty) {
      client.pipe(upstream);
      return;
    }
    // Walk the client's messages: the start-up message has no type byte, the others do.
    let pending = Buffer.alloc(0);
    let startup = true;
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const header = startup ? 4 : 5;
        if (pending.length < header) return;
        const length = startup ? pending.readInt32BE(0) : pending.readInt32BE(1) + 1;
        if (!startup && pending[0] === 0x51 /* 'Q' */) {
          this.cut = true;
          client.destroy();
          upstream.destroy();
          return;
        }
        if (pending.length < length) return;
        upstream.write(pending.subarray(0, length));
        pending = pending.subarray(length);
        startup = false;
      }
    });
  }
}

describe('the LISTEN connection under faults', () => {
  it('starts even when its connection is cut between connect and LISTEN, and then receives notifications', async () => {
    const url = new URL(databaseUrl());
    const cutter = new FirstQueryCutter({ host: url.hostname, port: Number(url.port) });
    const proxied = new URL(url.toString());
    proxied.host = `127.0.0.1:${await cutter.start()}`;
    const channel = `t_listener_cut_${process.pid}`;
    const received: Notification[] = [];
    let connected = 0;
    const listener = new EventListener(proxied.toString(), 'infrabox test listener', () => connected++, (n) => received.push(n), () => undefined);
    const notifier = new Client({ connectionString: databaseUrl() });
    await notifier.connect();
    try {
      await listener.connect([channel]);
      expect(cutter.cut).toBe(true);
      await eventually(async () => {
        await notifier.query(`SELECT pg_notify($1, '{"hello":1}')`, [channel]);
        return received.length > 0;
      }, 20_000, 'a notification after the reconnect');
      expect(received[0]).toMatchObject({ channel, payload: { hello: 1 } });
      expect(connected).toBeGreaterThanOrEqual(1);
      expect(cutter.connections).toBeGreaterThanOrEqual(2);
    } finally {
      await listener.close().catch(() => undefined);
      await notifier.end();
      await cutter.close();
    }
  }, 60_000);
});
