import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import type { BuildDto } from '@infrabox/jobs';
import { createScratchDatabase, eventually, openDatabase } from '../support/database';
import { freePort } from '../support/cli';
import { api, apiAs, RunningCluster, settledJobs, startCluster } from '../support/installation';
import { OidcTestProvider, startOidcProvider } from '../support/oidc-provider';
import { liveRegistryOptions } from '../support/clusters';

const ROOT = path.resolve(__dirname, '../..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

/**
 * The master's dashboard in headless Chromium, against a master and two workers (separate api,
 * registry, scheduler and forwarder processes) on a database of their own, so the clusters page
 * shows exactly these three.
 */
describe('dashboard (headless Chromium)', () => {
  jest.setTimeout(180_000);
  const registry = liveRegistryOptions({ heartbeatIntervalMs: 300, heartbeatTimeoutMs: 5_000, sweepIntervalMs: 500, probeIntervalMs: 500 });
  let clusters: RunningCluster[] = [];
  let master: RunningCluster;
  let browser: Browser;
  let page: Page;
  let provider: OidcTestProvider;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const db = openDatabase(1);
    const env = { DATABASE_URL: await createScratchDatabase(db) };
    await db.close();
    // Users log in through a real OpenID provider; its client's redirect URI names the master's port.
    const port = await freePort();
    provider = await startOidcProvider({
      clients: [{ client_id: 'dashboard', redirect_uris: [`http://127.0.0.1:${port}/api/v1/auth/callback`] }],
      accounts: { alice: { email: 'alice@example.com' } },
    });
    const oidc = `  oidc:\n    issuer: ${provider.issuer}\n    client_id: dashboard\n`;
    // The master first: it migrates the new database before the others race for it.
    master = await startCluster({ name: 'master', master: true, port, auth: oidc }, { registry, forwarder: true, env });
    clusters = [
      master,
      ...(await Promise.all([
        startCluster({ name: 'worker-gcp', labels: ['my-worker', 'GCP'] }, { registry, forwarder: true, env }),
        startCluster({ name: 'worker-aws', labels: ['AWS'] }, { registry, forwarder: true, env }),
      ])),
    ];
    await mkdir(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(clusters.map((c) => c.stop()));
    await provider?.stop();
  });

  it('is served by the master only', async () => {
    const response = await fetch(`${master.apiUrl}/dashboard`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await response.text()).toContain('<script type="module" src="/dashboard/dashboard.js">');
    expect((await fetch(`${master.apiUrl}/dashboard/dashboard.js`)).status).toBe(200);
    expect((await fetch(`${master.apiUrl}/dashboard/..%2Fdashboard.module.js`)).status).toBe(404);
    expect((await fetch(`${clusters[1].apiUrl}/dashboard`)).status).toBe(404);
  });

  it('shows the clusters: labels, state, heartbeat, jobs running and the reachability matrix', async () => {
    // An admin's link, as `infrabox up` prints one for a local run: the token rides in the fragment.
    await page.goto(`${master.apiUrl}/dashboard/#token=${master.adminToken}`);
    await page.waitForURL(/\/dashboard\/#\/clusters$/);
    await page.waitForSelector('#live[data-state="live"]');
    const rows = page.locator('#clusters tbody tr');
    await eventually(async () => (await rows.count()) === 3, 30_000, 'three clusters listed');
    const table = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 6).map((td) => td.textContent)));
    expect(table.map((r) => r.slice(0, 4))).toEqual([
      ['master', '—', 'active', 'enabled'],
      ['worker-aws', 'AWS', 'active', 'enabled'],
      ['worker-gcp', 'my-workerGCP', 'active', 'enabled'],
    ]);
    for (const row of table) {
      expect(row[4]).toMatch(/^\d+\.\d s$/);
      expect(row[5]).toBe('0');
    }
    // Every ordered pair probed (the page re-reads probes, which are not events): 6 reachable cells.
    await eventually(async () => (await page.locator('#reachability td.ok').count()) === 6, 30_000, 'the reachability matrix filled');
    expect(await page.locator('#reachability td.ok').first().textContent()).toMatch(/^✓ \d+(\.\d)? ms$/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-clusters.png'), fullPage: true });
  });

  it('follows a pushed build live: the graph reaches finished without a reload, and a console streams', async () => {
    await page.click('nav a[data-nav="builds"]');
    await page.waitForSelector('#live[data-state="live"]');
    await page.evaluate(() => ((globalThis as unknown as { __notReloaded: string }).__notReloaded = 'still the same page'));

    // examples/multi-cluster, with a build step that prints slowly enough to watch it stream.
    const definition = JSON.parse(await readFile(path.join(ROOT, 'examples/multi-cluster/infrabox.json'), 'utf8')) as {
      jobs: Array<{ name: string; type: string; image?: unknown; command: string[] }>;
    };
    // Its jobs of public images (the others build an image from the pushed source, which this build has not).
    definition.jobs = definition.jobs.filter((j) => j.type === 'docker-image' && typeof j.image === 'string');
    const buildJob = definition.jobs.find((j) => j.name === 'build')!;
    buildJob.command = ['sh', '-c', `for i in 1 2 3 4 5 6 7 8; do echo "tick $i"; sleep 0.5; done; ${buildJob.command[2]}`];
    const created = await apiAs<BuildDto>(master.adminToken, master.apiUrl, 'POST', '/api/v1/projects/dashboard/builds', { definition });
    expect(created.status).toBe(201);
    const buildId = created.body.id;

    // The list learns of the build from the event stream; open it by clicking (a hash route).
    const link = page.locator(`#builds tr[data-build="${buildId}"] a`);
    await link.waitFor({ timeout: 15_000 });
    await link.click();
    await page.waitForSelector('#graph g.job[data-job="build"]');
    expect(await page.locator('#graph g.job').count()).toBe(3);
    expect(await page.locator('#graph path.edge').count()).toBe(3);

    // Watch the build job's console while it runs: some ticks first, the rest later.
    await page.locator('#graph g.job[data-job="build"][data-state="running"]').waitFor({ timeout: 30_000 });
    await page.click('#graph g.job[data-job="build"]');
    const consoleText = page.locator('#console-text');
    await eventually(async () => ((await consoleText.textContent()) ?? '').includes('tick 1'), 15_000, 'the first tick');
    const early = (await consoleText.textContent()) ?? '';
    expect(early).not.toContain('tick 8');
    await eventually(async () => ((await consoleText.textContent()) ?? '').includes('tick 8'), 15_000, 'the last tick');

    await page.locator('#build-state[data-state="finished"]').waitFor({ timeout: 60_000 });
    const nodes = await page.locator('#graph g.job').evaluateAll((gs) =>
      gs.map((g) => [g.getAttribute('data-job'), g.getAttribute('data-state'), g.getAttribute('data-cluster'), g.getAttribute('transform')]),
    );
    const jobs = await settledJobs(master.apiUrl, buildId);
    // One column per dependency depth: build → test → report (which also needs build).
    expect(new Map(nodes.map(([name, ...rest]) => [name, rest]))).toEqual(
      new Map([
        ['build', ['finished', 'worker-gcp', 'translate(20 20)']],
        ['test', ['finished', 'worker-aws', 'translate(280 20)']],
        ['report', ['finished', jobs.get('report')!.cluster, 'translate(540 20)']],
      ]),
    );
    expect(await page.locator('#graph path.edge[data-from="build"][data-to="test"]').count()).toBe(1);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-build-finished.png'), fullPage: true });

    // The test job on the AWS worker printed the artifact the GCP worker built.
    await page.click('#graph g.job[data-job="test"]');
    await eventually(async () => ((await consoleText.textContent()) ?? '').includes('tested on worker-aws'), 15_000, "the test job's output");
    expect(await consoleText.textContent()).toContain('built on worker-gcp');

    expect(await page.evaluate(() => (globalThis as unknown as { __notReloaded?: string }).__notReloaded)).toBe('still the same page');
    expect(pageErrors).toEqual([]);
  });

  it('asks a new visitor to log in, through the OpenID provider (authorization code with PKCE) and back; a user sees only their projects', async () => {
    const context = await browser.newContext();
    try {
      const fresh = await context.newPage();
      fresh.on('pageerror', (error) => pageErrors.push(error.message));
      await fresh.goto(`${master.apiUrl}/`);
      await fresh.waitForURL(/\/dashboard/);
      await fresh.locator('#login').waitFor();
      expect(await fresh.locator('#clusters').count()).toBe(0);
      const authorize = fresh.waitForRequest((request) => request.url().startsWith(`${provider.issuer}/auth?`));
      await fresh.click('#login');
      const url = new URL((await authorize).url());
      expect([url.searchParams.get('code_challenge_method'), url.searchParams.get('client_id')]).toEqual(['S256', 'dashboard']);
      await fresh.fill('input[name="login"]', 'alice');
      await fresh.click('button[type="submit"], input[type="submit"]');
      await fresh.waitForSelector('#user-name');
      expect(await fresh.locator('#user-name').textContent()).toBe('alice@example.com');
      expect(new URL(fresh.url()).hash).toBe('#/clusters'); // the token left the address
      await fresh.locator('#clusters tbody tr').first().waitFor({ timeout: 30_000 });
      // Alice is a member of no project: the builds page lists none of the admin's builds (the test above pushed one).
      expect((await api<unknown[]>(master.apiUrl, 'GET', '/api/v1/builds')).body.length).toBeGreaterThan(0);
      await fresh.click('nav a[data-nav="builds"]');
      await fresh.getByText('No builds yet.').waitFor();
      expect(await fresh.locator('#builds').count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});
