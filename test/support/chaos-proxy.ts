import { createServer, Server, Socket } from 'node:net';
import { AddressInfo } from 'node:net';

export interface ChaosPlan {
  /** Connections (in order) whose response is cut after this many bytes from the target. */
  cutAfterBytes?: number;
  /** Connections (in order) in whose response the byte at this offset is flipped. */
  corruptAtByte?: number;
  /** Connections (in order) whose response stops after this many bytes, the connection left open (a stalled peer). */
  stallAfterBytes?: number;
  /** Connections (in order) whose request is read no further after this many bytes, the connection left open (a peer that stops taking an upload). */
  stallRequestAfterBytes?: number;
  /** How many connections get the fault; later ones pass untouched. */
  faultyConnections: number;
}

/**
 * A TCP proxy in front of a cluster's API that breaks responses on purpose: it cuts the first
 * connections after N bytes, stalls them after N bytes, or flips one byte, then passes everything through. Tests point a
 * cluster's `api_url` at it to see transfers resume, retry and refuse corrupt bytes.
 */
export class ChaosProxy {
  private server: Server | null = null;
  private connections = 0;
  private readonly sockets = new Set<Socket>();
  readonly faultsInjected: string[] = [];

  constructor(
    private readonly target: { host: string; port: number },
    private readonly plan: ChaosPlan,
  ) {}

  /** Connections accepted so far. */
  get connectionCount(): number {
    return this.connections;
  }

  async start(): Promise<string> {
    this.server = createServer((client) => this.handle(client));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Stops listening and drops every connection (a stalled one would otherwise keep the server open). */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private handle(client: Socket): void {
    const index = this.connections++;
    const faulty = index < this.plan.faultyConnections;
    const upstream = new Socket();
    upstream.connect(this.target.port, this.target.host);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    }
    const stallRequest = faulty ? this.plan.stallRequestAfterBytes : undefined;
    if (stallRequest === undefined) {
      client.pipe(upstream);
    } else {
      let taken = 0;
      client.on('data', (chunk: Buffer) => {
        if (taken + chunk.length <= stallRequest) {
          taken += chunk.length;
          upstream.write(chunk);
          return;
        }
        upstream.write(chunk.subarray(0, stallRequest - taken));
        taken = stallRequest;
        this.faultsInjected.push(`stalled the request of connection ${index} after ${stallRequest} bytes`);
        client.pause(); // read no more: the sender's writes back up, and the connection stays open
        client.removeAllListeners('data');
      });
    }
    let seen = 0;
    upstream.on('data', (chunk: Buffer) => {
      let out = chunk;
      if (faulty && this.plan.corruptAtByte !== undefined && seen <= this.plan.corruptAtByte && this.plan.corruptAtByte < seen + chunk.length) {
        out = Buffer.from(chunk);
        out[this.plan.corruptAtByte - seen] ^= 0xff;
        this.faultsInjected.push(`corrupted byte ${this.plan.corruptAtByte} of connection ${index}`);
      }
      if (faulty && this.plan.stallAfterBytes !== undefined && seen + chunk.length > this.plan.stallAfterBytes) {
        if (seen <= this.plan.stallAfterBytes) {
          client.write(out.subarray(0, Math.max(0, this.plan.stallAfterBytes - seen)));
          this.faultsInjected.push(`stalled connection ${index} after ${this.plan.stallAfterBytes} bytes`);
          upstream.pause(); // nothing more comes; the connection stays open
        }
        seen += chunk.length;
        return;
      }
      if (faulty && this.plan.cutAfterBytes !== undefined && seen + chunk.length > this.plan.cutAfterBytes) {
        client.write(out.subarray(0, Math.max(0, this.plan.cutAfterBytes - seen)));
        this.faultsInjected.push(`cut connection ${index} after ${this.plan.cutAfterBytes} bytes`);
        client.destroy();
        upstream.destroy();
        return;
      }
      seen += chunk.length;
      client.write(out);
    });
    upstream.on('end', () => client.end());
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
  }
}
