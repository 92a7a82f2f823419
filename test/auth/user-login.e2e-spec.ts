import { spawn } from 'node:child_process';
import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TokenService } from '@infrabox/auth';
import { InstallConfig, MASTER_CLUSTER, OIDC_CALLBACK_PATH } from '@infrabox/config';
import { Database } from '@infrabox/database';
import type { BuildDto, BuildSummaryDto } from '@infrabox/jobs';
import { ApiModule } from '../../apps/api/src/api.module';
import { craftTar } from '../support/archive';
import { placedJob, registeredCluster, signingKeyOf, signRaw, nowSeconds, tokenServiceFor } from '../support/auth';
import { CLI, cliEnvironment, freePort, runCli } from '../support/cli';
import { clusterConfig, testSigningKeyFile, uniqueClusterName } from '../support/clusters';
import { eventually, openDatabase } from '../support/database';
import { OidcBrowser } from '../support/oidc-browser';
import { OidcTestProvider, startOidcProvider } from '../support/oidc-provider';
import { sseMessages } from '../support/sse';

const CLIENT_SECRET = 'test-client-secret-of-infrabox';
const definition = { version: 1, jobs: [{ name: 'only', type: 'docker-image', image: 'alpine', command: ['true'] }] };

/**
 * Users log in through a real OpenID provider (oidc-provider in its own process): the browser's
 * authorization-code flow with PKCE, the CLI's device flow; then they see and push only the
 * projects they are members of, and the admins the config names see everything.
 */
describe('users: OpenID Connect login, project members, admins (real OpenID provider, real HTTP)', () => {
  jest.setTimeout(120_000);
  let provider: OidcTestProvider;
  let db: Database;
  let app: INestApplication;
  let apiUrl: string;
  let adminToken: string;
  let dir: string;
  const alpha = uniqueClusterName('alpha');
  const beta = uniqueClusterName('beta');
  const builds: Record<string, BuildDto> = {};

  const call = async <T = unknown>(method: string, route: string, token?: string, body?: unknown) => {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${apiUrl}${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual' });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  };

  /** A user token through the browser login, as the dashboard gets it. */
  const browserLogin = async (username: string): Promise<string> => {
    const browser = new OidcBrowser();
    const end = await browser.signIn(`${apiUrl}/api/v1/auth/login?return_to=/dashboard`, username);
    expect(end.url.origin + end.url.pathname).toBe(`${apiUrl}/dashboard`);
    const token = new URLSearchParams(end.url.hash.slice(1)).get('token');
    expect(token).toBeTruthy();
    return token!;
  };

  beforeAll(async () => {
    db = openDatabase();
    dir = await mkdtemp(path.join(tmpdir(), 'infrabox-login-'));
    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    provider = await startOidcProvider({
      clients: [{ client_id: 'infrabox', client_secret: CLIENT_SECRET, redirect_uris: [`${apiUrl}${OIDC_CALLBACK_PATH}`] }],
      accounts: { alice: { email: 'alice@example.com' }, root: { email: 'root@example.com' }, bob: { email: 'bob@example.com' } },
    });
    const secretFile = path.join(dir, 'client-secret');
    await writeFile(secretFile, `${CLIENT_SECRET}\n`, { mode: 0o600 });
    const config: InstallConfig = {
      ...clusterConfig(MASTER_CLUSTER, { apiUrl }),
      storage: { kind: 'local', path: path.join(dir, 'storage') },
      auth: {
        signingKey: testSigningKeyFile(MASTER_CLUSTER),
        admins: ['root@example.com'],
        oidc: {
          issuer: provider.issuer,
          clientId: 'infrabox',
          clientSecretFile: secretFile,
          usernameClaim: 'email',
          scopes: ['openid', 'email', 'profile'],
          redirectUri: `${apiUrl}${OIDC_CALLBACK_PATH}`,
        },
      },
    };
    await registeredCluster(db, MASTER_CLUSTER);
    const module = await Test.createTestingModule({ imports: [ApiModule.forConfig(config)] }).compile();
    app = module.createNestApplication({ logger: ['error'] });
    await app.listen(port, '127.0.0.1');
    adminToken = await app.get(TokenService).issueAdminToken(3600);
    for (const project of [beta, alpha]) {
      const created = await call<BuildDto>('POST', `/api/v1/projects/${project}/builds`, adminToken, { definition });
      expect(created.status).toBe(201);
      builds[project] = created.body;
    }
  });
  afterAll(async () => {
    await app?.close();
    await provider?.stop();
    await db?.close();
  });

  it('says how to log in, and sends the browser to the provider with PKCE (S256), state and nonce', async () => {
    expect((await call('GET', '/api/v1/auth/config')).body).toEqual({ login: 'oidc', issuer: provider.issuer });
    const started = await call('GET', '/api/v1/auth/login?return_to=/dashboard');
    expect(started.status).toBe(302);
    const location = new URL(started.headers.get('location')!);
    expect(location.origin).toBe(provider.issuer);
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
    expect(location.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(location.searchParams.get('state')).toBeTruthy();
    expect(location.searchParams.get('nonce')).toBeTruthy();
    expect(location.searchParams.get('redirect_uri')).toBe(`${apiUrl}${OIDC_CALLBACK_PATH}`);
    expect(started.headers.get('set-cookie')).toMatch(/^infrabox_login=[^;]+; Path=\/api\/v1\/auth\/callback; Max-Age=600; HttpOnly; SameSite=Lax$/);
  });

  it('a browser login ends on the dashboard with a user token (not an admin unless the config names them)', async () => {
    const alice = await browserLogin('alice');
    expect((await call('GET', '/api/v1/auth/whoami', alice)).body).toEqual({ kind: 'user', username: 'alice@example.com', admin: false });
    const root = await browserLogin('root');
    expect((await call('GET', '/api/v1/auth/whoami', root)).body).toEqual({ kind: 'user', username: 'root@example.com', admin: true });
  });

  it('refuses a callback without the login cookie, with another state, or a return_to off the site', async () => {
    expect(await call('GET', `${OIDC_CALLBACK_PATH}?code=x&state=y`)).toMatchObject({ status: 400, body: { message: expect.stringContaining('no login in progress') } });
    const started = await call('GET', '/api/v1/auth/login');
    const cookie = started.headers.get('set-cookie')!.split(';')[0];
    const replay = await fetch(`${apiUrl}${OIDC_CALLBACK_PATH}?code=x&state=not-the-state`, { headers: { cookie }, redirect: 'manual' });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { message: string }).message).toMatch(/^login: the OpenID provider's answer to the code exchange was refused: state mismatch/);
    const tampered = await fetch(`${apiUrl}${OIDC_CALLBACK_PATH}?code=x&state=y`, { headers: { cookie: `${cookie}x` }, redirect: 'manual' });
    expect(tampered.status).toBe(400);
    for (const target of ['//evil.example/', 'https://evil.example/', '/dashboard#x', 'dashboard']) {
      expect(await call('GET', `/api/v1/auth/login?return_to=${encodeURIComponent(target)}`)).toMatchObject({
        status: 400,
        body: { message: 'return_to: expected a path of this site such as /dashboard (no scheme, host or #)' },
      });
    }
    expect(await call('POST', '/api/v1/auth/device/token', undefined, { deviceCode: 'made-up' })).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/^login: the OpenID provider refused the device login: invalid_grant/) },
    });
    expect(await call('POST', '/api/v1/auth/device/token', undefined, { deviceCode: 7 })).toMatchObject({
      status: 400,
      body: { message: 'deviceCode: expected the deviceCode of POST /api/v1/auth/device' },
    });
  });

  it('every read answers 401 without a token; job and cluster tokens get 403 on the user routes', async () => {
    const build = builds[alpha];
    const job = build.jobs![0].id;
    const reads = [
      '/api/v1/builds',
      `/api/v1/builds/${build.id}`,
      `/api/v1/jobs/${job}`,
      `/api/v1/jobs/${job}/console`,
      '/api/v1/clusters',
      '/api/v1/clusters/reachability',
      '/api/v1/dashboard/clusters',
      '/api/v1/dashboard/builds',
      `/api/v1/dashboard/builds/${build.id}`,
      '/api/v1/events',
      '/api/v1/events/consumers',
      '/api/v1/events/stream',
    ];
    const peer = await registeredCluster(db, uniqueClusterName('peer'));
    const jobToken = await tokenServiceFor(db, MASTER_CLUSTER).issueJobToken(await placedJob(db, MASTER_CLUSTER), 60);
    const clusterToken = await tokenServiceFor(db, peer).issueClusterToken(MASTER_CLUSTER);
    for (const route of reads) {
      expect([route, (await call('GET', route)).status]).toEqual([route, 401]);
      expect([route, (await call('GET', route, jobToken)).status]).toEqual([route, 403]);
      expect([route, (await call('GET', route, clusterToken)).status]).toEqual([route, 403]);
    }
  });

  it('a user sees and pushes only the projects they are a member of; admins add members', async () => {
    const alice = await browserLogin('alice');
    const visible = async () => (await call<BuildSummaryDto[]>('GET', '/api/v1/builds?limit=500', alice)).body.map((b) => b.project);
    expect(await visible()).toEqual([]);
    expect(await call('GET', `/api/v1/builds/${builds[alpha].id}`, alice)).toMatchObject({
      status: 403,
      body: { message: `user 'alice@example.com' is not a member of project '${alpha}' (an admin adds members: infrabox admin members add ${alpha} alice@example.com)` },
    });
    expect((await call('POST', `/api/v1/projects/${alpha}/builds`, alice, { definition })).status).toBe(403);
    // Only admins manage members: an admin token, or a user the config names.
    expect((await call('PUT', `/api/v1/admin/projects/${alpha}/members/alice@example.com`, alice)).status).toBe(403);
    const root = await browserLogin('root');
    expect(await call('PUT', `/api/v1/admin/projects/${alpha}/members/alice@example.com`, root)).toMatchObject({ status: 200, body: { project: alpha, username: 'alice@example.com' } });

    expect(await visible()).toEqual([alpha]);
    expect((await call('GET', `/api/v1/builds/${builds[alpha].id}`, alice)).status).toBe(200);
    expect((await call('GET', `/api/v1/jobs/${builds[alpha].jobs![0].id}/console`, alice)).status).toBe(200);
    expect((await call('GET', `/api/v1/dashboard/builds/${builds[alpha].id}`, alice)).status).toBe(200);
    expect((await call<BuildSummaryDto[]>('GET', '/api/v1/dashboard/builds?limit=500', alice)).body.map((b) => b.project)).toEqual([alpha]);
    expect((await call('GET', `/api/v1/builds/${builds[beta].id}`, alice)).status).toBe(403);
    expect((await call('GET', `/api/v1/jobs/${builds[beta].jobs![0].id}/console`, alice)).status).toBe(403);
    expect((await call('POST', `/api/v1/jobs/${builds[beta].jobs![0].id}/abort`, alice)).status).toBe(403);
    expect((await call('GET', '/api/v1/events', alice)).status).toBe(403);
    const pushed = await call<BuildDto>('POST', `/api/v1/projects/${alpha}/builds`, alice, { definition });
    expect(pushed.status).toBe(201);
    // …and uploads its sources (`infrabox push`), not another project's.
    const source = await craftTar([{ name: 'README', content: 'hello' }]);
    const upload = (project: string) =>
      fetch(`${apiUrl}/api/v1/projects/${project}/source`, { method: 'PUT', headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/x-tar' }, body: source });
    expect((await upload(alpha)).status).toBe(201);
    expect((await upload(beta)).status).toBe(403);
    expect((await call<BuildSummaryDto[]>('GET', '/api/v1/builds?limit=500', root)).body.map((b) => b.project)).toEqual(expect.arrayContaining([alpha, beta]));

    expect(await call('DELETE', `/api/v1/admin/projects/${alpha}/members/alice@example.com`, adminToken)).toMatchObject({ status: 200 });
    expect(await visible()).toEqual([]);
    expect(await call('DELETE', `/api/v1/admin/projects/${alpha}/members/alice@example.com`, adminToken)).toMatchObject({
      status: 404,
      body: { message: `'alice@example.com' is not a member of project '${alpha}'` },
    });
    expect(await call('PUT', `/api/v1/admin/projects/${alpha}/members/${encodeURIComponent('has space')}`, adminToken)).toMatchObject({
      status: 400,
      body: { message: "username: 'has space' is not a username (no spaces or control characters, at most 200)" },
    });
  });

  it("a member's event stream carries the events of their projects and the clusters', never another project's", async () => {
    const project = uniqueClusterName('gamma');
    const other = uniqueClusterName('delta');
    expect((await call('PUT', `/api/v1/admin/projects/${project}/members/bob@example.com`, adminToken)).status).toBe(200);
    const bob = await browserLogin('bob');
    const abort = new AbortController();
    const response = await fetch(`${apiUrl}/api/v1/events/stream?after=now&token=${encodeURIComponent(bob)}`, { signal: abort.signal });
    expect(response.status).toBe(200);
    const seen: Array<{ type: string; payload: { buildId?: string; jobId?: string } }> = [];
    let ready = false;
    const reading = (async () => {
      try {
        for await (const message of sseMessages(response.body)) {
          if (message.event === 'ready') ready = true;
          if (message.event === 'events') seen.push(...(JSON.parse(message.data!) as typeof seen));
        }
      } catch {
        // aborted
      }
    })();
    await eventually(async () => ready, 20_000, 'the stream to be ready');
    const hidden = (await call<BuildDto>('POST', `/api/v1/projects/${other}/builds`, adminToken, { definition })).body;
    const shown = (await call<BuildDto>('POST', `/api/v1/projects/${project}/builds`, adminToken, { definition })).body;
    await eventually(async () => seen.some((event) => event.payload.buildId === shown.id), 20_000, "bob's build.created");
    abort.abort();
    await reading;
    const hiddenIds = new Set([hidden.id, ...hidden.jobs!.map((j) => j.id)]);
    expect(seen.filter((event) => hiddenIds.has(event.payload.buildId ?? '') || hiddenIds.has(event.payload.jobId ?? ''))).toEqual([]);
  });

  it('user tokens come from the master only: one signed by a worker is refused', async () => {
    const worker = await registeredCluster(db, uniqueClusterName('worker'));
    const key = await signingKeyOf(db, worker);
    const now = nowSeconds();
    const forged = await signRaw({ kind: 'user', username: 'root@example.com', admin: true, iss: worker, sub: 'user:root@example.com', iat: now, exp: now + 60 }, key);
    expect(await call('GET', '/api/v1/builds', forged)).toMatchObject({
      status: 401,
      body: { message: `invalid token: user tokens are issued by the master only, not by ${worker}` },
    });
  });

  it('`infrabox login` logs in with the device flow and saves the token (mode 600) that later commands send', async () => {
    const home = await mkdtemp(path.join(tmpdir(), 'infrabox-cli-home-'));
    const cwd = await mkdtemp(path.join(tmpdir(), 'infrabox-cli-cwd-'));
    const env = { XDG_CONFIG_HOME: home, INFRABOX_CREDENTIALS: undefined };
    const child = spawn(process.execPath, [CLI, 'login', '--api', apiUrl], { cwd, env: cliEnvironment(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await eventually(async () => /To log in, open (\S+)/.test(stderr), 20_000, 'the login prompt');
    expect(stderr).toMatch(/and confirm the code [A-Z]{4}-[A-Z]{4} \(within 10 min\)/);
    await new OidcBrowser().confirmDevice(/To log in, open (\S+)/.exec(stderr)![1], 'root');
    expect(await exited).toBe(0);
    const credentials = path.join(home, 'infrabox', 'credentials.json');
    expect(stdout).toContain(`logged in to ${apiUrl} as root@example.com (admin) until `);
    expect((await stat(credentials)).mode & 0o777).toBe(0o600);

    const listed = await runCli(['builds', '--json', '--limit', '500', '--api', apiUrl], { cwd, env });
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as BuildSummaryDto[]).map((b) => b.project)).toEqual(expect.arrayContaining([alpha, beta]));
    expect(await runCli(['admin', 'members', 'add', alpha, 'bob@example.com', '--api', apiUrl], { cwd, env })).toMatchObject({ code: 0, stdout: `bob@example.com is a member of ${alpha}\n` });
    const members = await runCli(['admin', 'members', 'list', alpha, '--api', apiUrl], { cwd, env });
    expect(members.stdout).toMatch(/^bob@example\.com\t\d{4}-/);
    expect(JSON.parse((await runCli(['whoami', '--api', apiUrl], { cwd, env })).stdout)).toEqual({ kind: 'user', username: 'root@example.com', admin: true });

    expect((await runCli(['logout', '--api', apiUrl], { cwd, env })).stdout).toBe(`logged out of ${apiUrl}\n`);
    const after = await runCli(['builds', '--api', apiUrl], { cwd, env });
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('HTTP 401');
  });
});

describe('users: an installation without an OpenID provider', () => {
  let app: INestApplication;
  let apiUrl: string;
  beforeAll(async () => {
    const module = await Test.createTestingModule({ imports: [ApiModule.forConfig(clusterConfig(MASTER_CLUSTER))] }).compile();
    app = module.createNestApplication({ logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    apiUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => app?.close());

  it('logs in with tokens only, and says so', async () => {
    expect(await (await fetch(`${apiUrl}/api/v1/auth/config`)).json()).toEqual({ login: 'token' });
    const login = await fetch(`${apiUrl}/api/v1/auth/login`, { redirect: 'manual' });
    expect(login.status).toBe(404);
    expect(((await login.json()) as { message: string }).message).toBe(
      "login: no OpenID provider is configured: add auth.oidc to the master's config (or use a token: infrabox admin token)",
    );
    const cli = await runCli(['login', '--api', apiUrl], { cwd: tmpdir() });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain(`${apiUrl} has no OpenID provider to log in with: use a token`);
  });
});
