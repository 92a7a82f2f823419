import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { cappedText, HttpClient, HttpFailure, probe } from './http.client';

describe('HttpClient', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/echo') {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => res.end(JSON.stringify({ authorization: req.headers.authorization, type: req.headers['content-type'], body: Buffer.concat(chunks).toString() })));
      } else if (req.url === '/silent') {
        // never answers
      } else if (req.url === '/trickle') {
        res.writeHead(200);
        res.write('a'); // then nothing more
      } else if (req.url === '/big-error') {
        res.writeHead(500).end('x'.repeat(2_000));
      } else {
        res.writeHead(404).end('not here');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends the token and a JSON or streamed body', async () => {
    const client = new HttpClient(url, 'tok');
    expect(client.hasToken).toBe(true);
    const json = await (await client.send('/echo', { method: 'POST', json: { a: 1 } })).json();
    expect(json).toEqual({ authorization: 'Bearer tok', type: 'application/json', body: '{"a":1}' });
    const streamed = await (await client.send('/echo', { method: 'PUT', body: Readable.from([Buffer.from('ab'), Buffer.from('cd')]), idleTimeoutMs: 1_000 })).json();
    expect(streamed).toMatchObject({ body: 'abcd' });
  });

  it('returns error statuses as answers, their bodies capped', async () => {
    const response = await new HttpClient(url).send('/big-error');
    expect(response.status).toBe(500);
    expect(await cappedText(response)).toHaveLength(500);
  });

  it('names a refused connection by its code', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const failure = await new HttpClient(`http://127.0.0.1:${port}`).send('/').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(HttpFailure);
    expect(failure).toMatchObject({ message: 'ECONNREFUSED', timedOut: false, codes: expect.arrayContaining(['ECONNREFUSED']) });
  });

  it('gives up on an answer that does not come in time, or a body that stops moving', async () => {
    await expect(new HttpClient(url).send('/silent', { timeoutMs: 200 })).rejects.toMatchObject({ message: 'no answer within 200 ms', timedOut: true });
    await expect(new HttpClient(url).send('/silent', { headersTimeoutMs: 200 })).rejects.toMatchObject({ message: 'no answer within 200 ms', timedOut: true });
    await expect(new HttpClient(url).send('/silent', { idleTimeoutMs: 200 })).rejects.toMatchObject({ message: 'nothing moved for 0.2 s' });
    const trickle = await new HttpClient(url).send('/trickle', { idleTimeoutMs: 200 });
    await expect(trickle.text()).rejects.toThrow('nothing moved for 0.2 s');
  });
});

describe('probe', () => {
  it('tells an accepted answer, an unaccepted status and no answer apart', async () => {
    const server = createServer((req, res) => res.writeHead(req.url === '/ok' ? 200 : 401).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect(await probe(`${url}/ok`, { timeoutMs: 1_000 })).toMatchObject({ ok: true, status: 200, error: null });
    expect(await probe(`${url}/v2/`, { timeoutMs: 1_000 })).toMatchObject({ ok: false, status: 401, error: 'HTTP 401' });
    expect(await probe(`${url}/v2/`, { timeoutMs: 1_000, accept: (s) => s === 401 })).toMatchObject({ ok: true });
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    expect(await probe(`${url}/ok`, { timeoutMs: 1_000 })).toMatchObject({ ok: false, status: null, rttMs: null, error: expect.stringMatching(/ECONNREFUSED|other side closed/) });
  });
});
