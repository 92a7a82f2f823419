import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { RegistryClient, RegistryError } from './registry.client';

const IDLE_MS = 400;

/** An HTTP server that answers with `handler` and destroys every connection when closed. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer(handler);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A stream of `chunks` chunks of 64 KiB, made as they are read. */
function generated(chunks: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent++ >= chunks) controller.close();
      else controller.enqueue(new Uint8Array(64 * 1024));
    },
  });
}

async function failureOf(work: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  try {
    await work();
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
  throw new Error('expected a failure');
}

describe('RegistryClient against a registry that stalls (idle timeout)', () => {
  it('gives up on an answer that never comes, naming the request', async () => {
    const registry = await serve(() => undefined); // reads the request, never answers
    try {
      const { error, ms } = await failureOf(() => new RegistryClient(registry.url, undefined, IDLE_MS).manifest('demo/app', 'latest'));
      expect(error).toBeInstanceOf(RegistryError);
      expect((error as Error).message).toBe(`GET ${new URL(registry.url).host}/v2/demo/app/manifests/latest: nothing moved for ${IDLE_MS / 1000} s`);
      expect(ms).toBeGreaterThanOrEqual(IDLE_MS - 50);
      expect(ms).toBeLessThan(IDLE_MS * 10);
    } finally {
      await registry.close();
    }
  });

  it('gives up on a blob whose bytes stop coming, however long it took before', async () => {
    const registry = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      // Some bytes every 100 ms for a while (longer than the idle timeout in all), then silence.
      let sent = 0;
      const timer = setInterval(() => {
        if (sent++ < 8) res.write(Buffer.alloc(1024));
        else clearInterval(timer);
      }, 100);
      res.on('close', () => clearInterval(timer));
    });
    try {
      const stream = await new RegistryClient(registry.url, undefined, IDLE_MS).blob('demo/app', `sha256:${'a'.repeat(64)}`);
      let received = 0;
      const { error } = await failureOf(async () => {
        for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) received += chunk.length;
      });
      expect(received).toBe(8 * 1024);
      expect(String((error as Error).message ?? error)).toContain(`nothing moved for ${IDLE_MS / 1000} s`);
    } finally {
      await registry.close();
    }
  });

  it('gives up on an upload the registry stops taking', async () => {
    const registry = await serve((req, res) => {
      if (req.method === 'POST') {
        res.writeHead(202, { location: '/v2/demo/app/blobs/uploads/1' }).end();
        return;
      }
      req.pause(); // takes nothing more: the client's writes back up, then stop
    });
    try {
      const client = new RegistryClient(registry.url, undefined, IDLE_MS);
      const { error } = await failureOf(() => client.putBlob('demo/app', `sha256:${'b'.repeat(64)}`, generated(4096)));
      expect(String((error as Error).message ?? error)).toContain(`nothing moved for ${IDLE_MS / 1000} s`);
    } finally {
      await registry.close();
    }
  });
});
