import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requestProjectToken } from './project-token';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

async function serve(handler: Handler): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('requestProjectToken', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  async function api(handler: Handler): Promise<string> {
    const { url, server } = await serve(handler);
    servers.push(server);
    return url;
  }

  it('POSTs to the admin tokens endpoint of the project and returns the token', async () => {
    const seen: string[] = [];
    const url = await api((request, response) => {
      seen.push(`${request.method} ${request.url} ${request.headers.authorization}`);
      response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'tkn' }));
    });
    expect(await requestProjectToken(url, 'adm', 'default')).toEqual({ ok: true, token: 'tkn' });
    expect(seen).toEqual(['POST /api/v1/admin/projects/default/tokens Bearer adm']);
  });

  it('turns an HTTP error into one warning line', async () => {
    const url = await api((_request, response) => {
      response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'boom\nsecond line', errorId: 'e1' }));
    });
    const result = await requestProjectToken(url, 'adm', 'default');
    expect(result).toEqual({
      ok: false,
      warning:
        "warning: no project token for 'default' (the InfraBox API answered POST /api/v1/admin/projects/default/tokens with HTTP 500: boom second line (error id e1)); `infrabox push` needs --token or $INFRABOX_TOKEN",
    });
  });

  it('warns when the answer has no token', async () => {
    const url = await api((_request, response) => response.writeHead(201, { 'content-type': 'application/json' }).end('{}'));
    expect(await requestProjectToken(url, 'adm')).toEqual({
      ok: false,
      warning: expect.stringContaining('answered POST /api/v1/admin/projects/default/tokens without a token') as unknown,
    });
  });

  it('warns when the API cannot be reached', async () => {
    const url = await api(() => undefined);
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const result = await requestProjectToken(url, 'adm');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.warning).toMatch(/^warning: no project token for 'default' \(cannot reach the InfraBox API at http:\/\/127\.0\.0\.1:\d+.*\); `infrabox push` needs --token or \$INFRABOX_TOKEN$/);
    expect(!result.ok && result.warning).not.toContain('\n');
  });
});
