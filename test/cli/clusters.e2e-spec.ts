import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, runCli } from '../support/cli';

const CLUSTERS = [
  {
    name: 'master',
    labels: [],
    apiUrl: 'http://127.0.0.1:8080',
    enabled: true,
    active: true,
    capacity: 10,
    lastHeartbeatAt: '2026-01-01T10:00:00.000Z',
    heartbeatAgeSeconds: 2.4,
  },
  {
    name: 'worker-gcp',
    labels: ['my-worker', 'GCP'],
    apiUrl: 'http://127.0.0.1:8081',
    enabled: false,
    active: false,
    capacity: 4,
    lastHeartbeatAt: '2026-01-01T09:55:00.000Z',
    heartbeatAgeSeconds: 200,
  },
];

interface Recorded {
  method: string;
  url: string;
  authorization?: string;
}

/** Answers the cluster endpoints of the API contract; everything else is 404 (as Nest would). */
class FakeApi {
  readonly requests: Recorded[] = [];
  private readonly server: Server;
  failWith500 = false;

  constructor() {
    this.server = createServer((req, res) => {
      this.requests.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization });
      const [status, body] = this.answer(req);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private answer(req: IncomingMessage): [number, unknown] {
    if (this.failWith500) return [500, { statusCode: 500, message: 'internal error', errorId: 'abc-123' }];
    if (req.method === 'GET' && req.url === '/api/v1/clusters') return [200, CLUSTERS];
    const admin = /^\/api\/v1\/admin\/clusters\/([^/]+)\/(enable|disable)$/.exec(req.url ?? '');
    if (req.method === 'POST' && admin) {
      const cluster = CLUSTERS.find((c) => c.name === decodeURIComponent(admin[1]!));
      if (!cluster) return [404, { statusCode: 404, message: `cluster '${decodeURIComponent(admin[1]!)}' not found` }];
      return [200, { ...cluster, enabled: admin[2] === 'enable' }];
    }
    return [404, { statusCode: 404, message: `Cannot ${req.method} ${req.url}` }];
  }
}

describe('infrabox clusters (against a fake API)', () => {
  let api: FakeApi;
  let url: string;

  beforeAll(async () => {
    api = new FakeApi();
    url = await api.listen();
  });
  afterAll(() => api.close());
  beforeEach(() => {
    api.requests.length = 0;
    api.failWith500 = false;
  });

  it('prints a table', async () => {
    const result = await runCli(['clusters', '--api', url]);
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'NAME        LABELS         ACTIVE  ENABLED  HEARTBEAT   URL',
        'master      -              yes     yes      2s ago      http://127.0.0.1:8080',
        'worker-gcp  my-worker,GCP  no      no       3m 20s ago  http://127.0.0.1:8081',
        '',
      ].join('\n'),
    });
    expect(api.requests).toEqual([{ method: 'GET', url: '/api/v1/clusters', authorization: undefined }]);
  });

  it('prints the JSON with --json', async () => {
    const result = await runCli(['clusters', '--json', '--api', url]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(CLUSTERS);
  });

  it.each(['enable', 'disable'])('%s NAME posts to the admin endpoint', async (action) => {
    const result = await runCli(['clusters', action, 'worker-gcp', '--api', url]);
    expect(result).toEqual({ code: 0, stdout: `cluster worker-gcp ${action}d\n`, stderr: '' });
    expect(api.requests).toEqual([{ method: 'POST', url: `/api/v1/admin/clusters/worker-gcp/${action}`, authorization: undefined }]);
  });

  it('takes --api before the subcommand too', async () => {
    const result = await runCli(['clusters', '--api', url, 'disable', 'master']);
    expect(result).toEqual({ code: 0, stdout: 'cluster master disabled\n', stderr: '' });
  });

  it("says cluster 'NAME' not found and exits 1 on 404", async () => {
    const result = await runCli(['clusters', 'enable', 'nope', '--api', url]);
    expect(result).toEqual({ code: 1, stdout: '', stderr: "cluster 'nope' not found\n" });
  });

  it('shows an API error as one line and exits 1', async () => {
    api.failWith500 = true;
    const result = await runCli(['clusters', '--api', url]);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'the InfraBox API answered GET /api/v1/clusters with HTTP 500: internal error (error id abc-123)\n',
    });
  });

  it('says how to start the API when nothing listens', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    for (const args of [['clusters'], ['clusters', 'enable', 'master']]) {
      const result = await runCli([...args, '--api', closed]);
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: `cannot reach the InfraBox API at ${closed} (is it running? start it with: npm start)\n`,
      });
    }
  });

  it('finds the API through INFRABOX_API, then .infrabox/local.json; --api wins; sends INFRABOX_TOKEN', async () => {
    const cwd = await mkdtemp(path.join(tmpdir(), 'infrabox-cli-'));
    const closed = `http://127.0.0.1:${await freePort()}`;

    const viaEnv = await runCli(['clusters', 'enable', 'master'], { cwd, env: { INFRABOX_API: `${url}/`, INFRABOX_TOKEN: 's3cret' } });
    expect(viaEnv).toMatchObject({ code: 0, stdout: 'cluster master enabled\n' });
    expect(api.requests.pop()).toEqual({ method: 'POST', url: '/api/v1/admin/clusters/master/enable', authorization: 'Bearer s3cret' });

    expect(await runCli(['clusters', '--api', url], { cwd, env: { INFRABOX_API: closed } })).toMatchObject({ code: 0 });

    await mkdir(path.join(cwd, '.infrabox'));
    await writeFile(
      path.join(cwd, '.infrabox', 'local.json'),
      JSON.stringify({ installations: [{ cluster: 'worker-gcp', api: closed }, { cluster: 'master', api: url }] }),
    );
    expect(await runCli(['clusters', 'disable', 'worker-gcp'], { cwd })).toMatchObject({ code: 0, stdout: 'cluster worker-gcp disabled\n' });
    expect(await runCli(['clusters'], { cwd, env: { INFRABOX_API: closed } })).toMatchObject({ code: 1 });
  });

  it('falls back to http://127.0.0.1:8080 without flag, variable or local.json', async () => {
    const cwd = await mkdtemp(path.join(tmpdir(), 'infrabox-cli-'));
    const result = await runCli(['clusters', 'enable', 'zzz-no-such-cluster'], { cwd });
    // Whatever runs on 8080 (nothing, or a local InfraBox), the CLI must have asked it.
    expect(result.stderr).toMatch(/^(cannot reach the InfraBox API at http:\/\/127\.0\.0\.1:8080 .*|cluster 'zzz-no-such-cluster' not found)\n$/);
    expect(result.code).toBe(1);
  });

  it('exits 2 on usage errors', async () => {
    expect((await runCli(['clusters', 'enable'])).code).toBe(2);
    expect((await runCli(['clusters', '--api', 'not a url'])).code).toBe(2);
    expect((await runCli(['clusters', '--bogus'])).code).toBe(2);
    expect((await runCli(['bogus'])).code).toBe(2);
    expect((await runCli([])).code).toBe(2);
  });

  it.each(['validate', 'clusters', 'clusters enable', 'clusters disable', 'up'])('`%s --help` shows an example and exits 0', async (command) => {
    const result = await runCli([...command.split(' '), '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`$ infrabox ${command}`);
  });
});
