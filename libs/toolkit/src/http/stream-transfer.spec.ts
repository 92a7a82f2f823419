import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { cappedMessageText, streamGet, streamPut } from './stream-transfer';

/** A loopback server whose handler the test gives; answers on a port of its own. */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('the bulk HTTP path (streamGet, streamPut)', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('streams a body, and cuts one whose peer stops sending, naming the peer and the idle time', async () => {
    const { server, url } = await serve((_req, res) => {
      res.writeHead(200);
      res.write(Buffer.alloc(1000, 1)); // then nothing more
    });
    servers.push(server);
    const response = await streamGet(url, {}, 200, 'cluster-b');
    let received = 0;
    const reading = (async () => {
      for await (const chunk of response as AsyncIterable<Buffer>) received += chunk.length;
    })();
    await expect(reading).rejects.toThrow('cluster-b sent nothing for 0.2 s');
    expect(received).toBe(1000);
  });

  it('cuts a push whose peer neither takes the body nor answers', async () => {
    const { server, url } = await serve(() => undefined); // reads nothing, answers nothing
    servers.push(server);
    const body = Readable.from([Buffer.alloc(4 * 1024 * 1024)]);
    await expect(streamPut(url, { 'content-length': String(4 * 1024 * 1024) }, body, 200, 'cluster-c')).rejects.toThrow(
      'cluster-c took nothing and answered nothing for 0.2 s',
    );
  });

  it('reads at most the cap of an error answer', async () => {
    const { server, url } = await serve((_req, res) => {
      res.writeHead(500);
      res.end('x'.repeat(100_000));
    });
    servers.push(server);
    const response = await streamGet(url, {}, 5_000, 'cluster-d');
    expect(response.statusCode).toBe(500);
    expect(await cappedMessageText(response, 1_000)).toBe('x'.repeat(1_000));
  });
});
