import { createServer, IncomingMessage, request, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Transform, TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface SeenRequest {
  method: string;
  path: string;
  range?: string;
  /** The api replica's port that answered. */
  backend?: number;
  status?: number;
  /** Response bytes passed to the client; set when the response ended (or was cut). */
  bytes?: number;
  complete?: boolean;
  /** Whether the throttle slowed this response (it applies to responses that start while it is set). */
  throttled?: boolean;
}

export interface Throttle {
  /** Responses to requests whose path matches are slowed to this many bytes per second. */
  path: RegExp;
  bytesPerSecond: number;
}

/**
 * An HTTP load balancer in front of a cluster's api replicas (round robin), which records every
 * request it passes: the count of peer transfers per job is seen here, outside the forwarders'
 * own bookkeeping. Its URL is the cluster's `host`, so peers and probes all come through it.
 */
export class CountingProxy {
  readonly seen: SeenRequest[] = [];
  private server: Server | null = null;
  private next = 0;
  /** Set or cleared at any time; applies to responses that start afterwards. */
  throttle: Throttle | null = null;

  constructor(readonly backends: readonly number[]) {}

  async start(port = 0): Promise<number> {
    this.server = createServer((req, res) => void this.forward(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', () => resolve()));
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Requests whose method and path match. */
  matching(method: string, path: RegExp): SeenRequest[] {
    return this.seen.filter((r) => r.method === method && path.test(r.path));
  }

  private async forward(req: IncomingMessage, res: ServerResponse, attempt = 0, seen?: SeenRequest): Promise<void> {
    const record: SeenRequest = seen ?? { method: req.method!, path: req.url!, range: req.headers.range };
    if (attempt === 0) this.seen.push(record);
    const port = this.backends[this.next++ % this.backends.length];
    const upstream = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers });
    upstream.on('response', (answer) => {
      record.backend = port;
      record.status = answer.statusCode;
      res.writeHead(answer.statusCode!, answer.headers);
      let bytes = 0;
      const rule = this.throttle && this.throttle.path.test(req.url!) ? this.throttle : null;
      record.throttled = rule !== null;
      const counter = new Transform({
        transform: (chunk: Buffer, _encoding, callback: TransformCallback) => {
          bytes += chunk.length;
          if (rule) setTimeout(() => callback(null, chunk), (chunk.length / rule.bytesPerSecond) * 1000);
          else callback(null, chunk);
        },
      });
      pipeline(answer, counter, res)
        .then(() => (record.complete = true))
        .catch(() => (record.complete = false))
        .finally(() => (record.bytes = bytes));
    });
    upstream.on('error', () => {
      // A replica that is down: a body-less request goes to the other one, as a load balancer would.
      if (!res.headersSent && attempt < this.backends.length && (req.method === 'GET' || req.method === 'HEAD')) {
        void this.forward(req, res, attempt + 1, record);
        return;
      }
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    if (attempt === 0) req.pipe(upstream);
    else upstream.end();
  }
}
