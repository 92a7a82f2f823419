import { createServer, IncomingMessage, request, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/** A peer output download that starts from byte 0 (a resume carries `Range`). */
const OUTPUT_DOWNLOAD = /^\/api\/v1\/peer\/output\/[^/?]+(\?|$)/;

/**
 * An HTTP proxy in front of one cluster's api that cuts one in `every` forwarding transfers
 * halfway: it passes the status and headers, then half of the body, then drops the connection.
 * Everything else (probes, resumed transfers with `Range`, uploads) passes untouched.
 */
export class TransferCutProxy {
  private server: Server | null = null;
  private transfers = 0;
  /** Transfers cut so far (the first, the (every+1)th, …: even a short run sees some). */
  cuts = 0;

  constructor(
    private readonly targetPort: number,
    private readonly every = 10,
  ) {}

  async start(port = 0): Promise<number> {
    this.server = createServer((req, res) => this.forward(req, res));
    this.server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const isTransfer = req.method === 'GET' && OUTPUT_DOWNLOAD.test(req.url ?? '') && !req.headers.range;
    const cut = isTransfer && this.transfers++ % this.every === 0;
    const upstream = request(
      { host: '127.0.0.1', port: this.targetPort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const length = Number(answer.headers['content-length']);
        if (!cut || answer.statusCode !== 200 || !(length > 1)) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        this.cuts++;
        res.writeHead(200, answer.headers);
        let left = Math.floor(length / 2);
        answer.on('data', (chunk: Buffer) => {
          if (left <= 0) return;
          const part = chunk.subarray(0, left);
          left -= part.length;
          res.write(part);
          if (left <= 0) {
            // Flush the half, then drop the connection mid-body, as a broken network would.
            res.socket?.end(() => res.socket?.destroy());
            answer.destroy();
          }
        });
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.on('error', () => upstream.destroy());
    req.pipe(upstream);
  }
}
