// The InfraBox dashboard: plain DOM, no framework, no build step. Pages are routed by the URL's
// hash (#/clusters, #/builds, #/builds/<id>); live updates come from the event table through one
// server-sent event stream (GET /api/v1/events/stream), and each page re-reads only what an event
// says has changed. Every read carries the user's token: a login through the OpenID provider
// (GET /api/v1/auth/login) or a local run's link end on `#token=…`, which the page keeps for the
// tab (sessionStorage) and removes from the address.

/** Heartbeats and reachability probes are not events: the clusters page re-reads them this often. */
const CLUSTER_REFRESH_MS = 5000;

const view = document.getElementById('view');
const live = document.getElementById('live');
const errorBar = document.getElementById('error');
const userBar = document.getElementById('user');

// ---- the login -----------------------------------------------------------------------------

const TOKEN_KEY = 'infrabox.token';

/** A `#token=…` in the address (a finished login) is kept for the tab and taken out of the address. */
function takeTokenFromAddress() {
  const match = /^#token=([^&]+)/.exec(location.hash);
  if (!match) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
  history.replaceState(null, '', `${location.pathname}${location.search}#/clusters`);
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Thrown by api() for a 401: the page shows the login instead. */
class LoginNeeded extends Error {}

/** The login page: the provider's login when there is one, else a field for a token. */
async function showLogin(reason) {
  live.dataset.state = 'offline';
  live.textContent = 'not logged in';
  const config = await fetch('/api/v1/auth/config').then((r) => r.json()).catch(() => ({ login: 'token' }));
  const returnTo = encodeURIComponent(location.pathname);
  const field = el('input', { id: 'token-input', type: 'password', placeholder: 'token', autocomplete: 'off', size: 40 });
  const useToken = (event) => {
    event.preventDefault();
    if (field.value.trim() === '') return;
    sessionStorage.setItem(TOKEN_KEY, field.value.trim());
    location.reload();
  };
  view.replaceChildren(
    el('h2', {}, 'Log in'),
    reason ? el('p', { class: 'muted', id: 'login-reason' }, reason) : null,
    config.login === 'oidc'
      ? el('p', {}, el('a', { id: 'login', class: 'button', href: `/api/v1/auth/login?return_to=${returnTo}` }, 'Log in'), ` with ${config.issuer}`)
      : null,
    el(
      'form',
      { id: 'token-form', onsubmit: useToken },
      el('p', { class: 'muted' }, config.login === 'oidc' ? 'or use a token:' : 'Paste a token (`infrabox admin token`; a local run prints a dashboard link that carries one):'),
      field,
      ' ',
      el('button', { type: 'submit' }, 'Use token'),
    ),
  );
}

/** Who is logged in, and a way out. */
async function showUser() {
  if (!token()) return;
  const response = await fetch('/api/v1/auth/whoami', { headers: { authorization: `Bearer ${token()}` } }).catch(() => null);
  if (!response || !response.ok) return;
  const who = await response.json();
  const name = who.kind === 'user' ? `${who.username}${who.admin ? ' (admin)' : ''}` : who.kind === 'project' ? `project ${who.projectName}` : who.kind;
  const logout = el('a', { href: '#/clusters', id: 'logout', onclick: () => { sessionStorage.removeItem(TOKEN_KEY); location.reload(); } }, 'log out');
  userBar.replaceChildren(el('span', { id: 'user-name' }, name), ' · ', logout);
}

// ---- helpers -------------------------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  return node;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  return node;
}

function showError(message) {
  errorBar.textContent = message;
  errorBar.hidden = message === '';
}

/** GET a JSON route with the token; an error is shown as one line and rethrown, a 401 shows the login. */
async function api(path) {
  let response;
  const headers = { accept: 'application/json' };
  if (token()) headers.authorization = `Bearer ${token()}`;
  try {
    response = await fetch(path, { headers });
  } catch (error) {
    showError(`cannot reach the InfraBox API (${error.message})`);
    throw error;
  }
  const body = await response.json().catch(() => undefined);
  if (response.status === 401) {
    if (token()) sessionStorage.removeItem(TOKEN_KEY);
    showError('');
    current?.stop();
    void showLogin(token() === null && body?.message ? `${body.message}` : undefined);
    throw new LoginNeeded(body?.message ?? 'login needed');
  }
  if (!response.ok) {
    const message = body && body.message ? (Array.isArray(body.message) ? body.message.join('; ') : body.message) : response.statusText;
    showError(`GET ${path}: HTTP ${response.status}: ${message}`);
    throw new Error(message);
  }
  showError('');
  return body;
}

/** Runs `task` once soon, however often it is asked for meanwhile (a burst of events, one read). */
function coalesce(task, delayMs = 100) {
  let timer = null;
  let running = false;
  let again = false;
  const run = async () => {
    timer = null;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await task();
    } catch {
      // already shown
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = () => {
    if (timer === null) timer = setTimeout(run, delayMs);
  };
  schedule.now = run;
  schedule.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  return schedule;
}

function stateBadge(state, id) {
  return el('span', { class: 'state', 'data-state': state, id }, state);
}

function age(seconds) {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.floor(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '—';
}

// ---- the live event stream -----------------------------------------------------------------

const listeners = new Set();

/** One EventSource for the page; it resumes after a drop with Last-Event-ID (the feed's cursor). */
function connectLive() {
  if (!token()) return;
  const source = new EventSource(`/api/v1/events/stream?after=now&token=${encodeURIComponent(token())}`);
  source.addEventListener('ready', () => {
    live.dataset.state = 'live';
    live.textContent = 'live';
    // The page may have read its data just before the stream's starting point: read it again.
    current?.start();
  });
  source.addEventListener('events', (message) => {
    const events = JSON.parse(message.data);
    for (const listener of listeners) listener(events);
  });
  source.addEventListener('error', () => {
    live.dataset.state = 'reconnecting';
    live.textContent = 'reconnecting…';
  });
  source.addEventListener('open', () => {
    live.dataset.state = 'live';
    live.textContent = 'live';
  });
}

// ---- pages ---------------------------------------------------------------------------------

function clustersPage() {
  let data = null;
  let fetchedAt = 0;
  const body = el('div');
  const refresh = coalesce(async () => {
    data = await api('/api/v1/dashboard/clusters');
    fetchedAt = performance.now();
    render();
  });

  function heartbeat(cluster) {
    return age(cluster.heartbeatAgeSeconds + (performance.now() - fetchedAt) / 1000);
  }

  function render() {
    const names = data.clusters.map((c) => c.name);
    const probes = new Map(data.reachability.map((r) => [`${r.from}\u0000${r.to}`, r]));
    const clusters = el(
      'table',
      { id: 'clusters' },
      el('thead', {}, el('tr', {}, ['Name', 'Labels', 'Active', 'Enabled', 'Heartbeat age', 'Jobs running', 'Capacity', 'API'].map((h, i) => el('th', { class: i === 5 || i === 6 ? 'num' : undefined }, h)))),
      el(
        'tbody',
        {},
        data.clusters.map((c) =>
          el(
            'tr',
            { 'data-cluster': c.name },
            el('td', {}, el('strong', {}, c.name)),
            el('td', {}, c.labels.length ? c.labels.map((l) => el('span', { class: 'label' }, l)) : el('span', { class: 'muted' }, '—')),
            el('td', { class: c.active ? 'yes' : 'no' }, c.active ? 'active' : 'lost'),
            el('td', { class: c.enabled ? 'yes' : 'no' }, c.enabled ? 'enabled' : 'disabled'),
            el('td', { class: 'num heartbeat' }, heartbeat(c)),
            el('td', { class: 'num', 'data-running': c.runningJobs }, c.runningJobs),
            el('td', { class: 'num' }, c.capacity),
            el('td', {}, el('code', {}, c.apiUrl)),
          ),
        ),
      ),
    );
    const matrix = el(
      'table',
      { id: 'reachability', class: 'matrix' },
      el('thead', {}, el('tr', {}, el('th', {}, 'from ↓ / to →'), names.map((n) => el('th', {}, n)))),
      el(
        'tbody',
        {},
        names.map((from) =>
          el(
            'tr',
            {},
            el('th', {}, from),
            names.map((to) => {
              if (from === to) return el('td', { class: 'self' }, '·');
              const probe = probes.get(`${from}\u0000${to}`);
              if (!probe) return el('td', { class: 'muted', title: 'not probed yet' }, '—');
              const title = `checked ${when(probe.checkedAt)}${probe.error ? `: ${probe.error}` : ''}`;
              return probe.reachable
                ? el('td', { class: 'ok', title }, `✓ ${probe.rttMs === null ? '' : `${probe.rttMs} ms`}`)
                : el('td', { class: 'down', title }, '✗ unreachable');
            }),
          ),
        ),
      ),
    );
    body.replaceChildren(
      el('h2', {}, `Clusters (${data.clusters.length})`),
      clusters,
      el('h2', {}, 'Reachability (round trip of GET /health/live from each cluster to each other)'),
      matrix,
    );
  }

  const ticker = setInterval(() => {
    if (!data) return;
    for (const row of body.querySelectorAll('tr[data-cluster]')) {
      const cluster = data.clusters.find((c) => c.name === row.dataset.cluster);
      if (cluster) row.querySelector('.heartbeat').textContent = heartbeat(cluster);
    }
  }, 1000);
  const reread = setInterval(refresh, CLUSTER_REFRESH_MS);

  return {
    name: 'clusters',
    element: body,
    start: () => refresh.now(),
    onEvents(events) {
      if (events.some((e) => e.type.startsWith('cluster.') || e.type === 'job.started' || e.type === 'job.finished')) refresh();
    },
    stop() {
      clearInterval(ticker);
      clearInterval(reread);
      refresh.cancel();
    },
  };
}

function buildsPage() {
  const body = el('div');
  const refresh = coalesce(async () => {
    const builds = await api('/api/v1/dashboard/builds?limit=50');
    body.replaceChildren(
      el('h2', {}, 'Builds'),
      builds.length === 0
        ? el('p', { class: 'muted' }, 'No builds yet. Push one: bin/infrabox push examples/multi-cluster --follow')
        : el(
            'table',
            { id: 'builds' },
            el('thead', {}, el('tr', {}, ['Build', 'State', 'Jobs', 'Created'].map((h) => el('th', {}, h)))),
            el(
              'tbody',
              {},
              builds.map((b) =>
                el(
                  'tr',
                  { 'data-build': b.id },
                  el('td', {}, el('a', { href: `#/builds/${b.id}` }, `${b.project} #${b.number}`)),
                  el('td', {}, stateBadge(b.state)),
                  el('td', {}, Object.entries(b.jobStates).map(([state, n]) => `${n} ${state}`).join(', ')),
                  el('td', {}, when(b.createdAt)),
                ),
              ),
            ),
          ),
    );
  });
  return {
    name: 'builds',
    element: body,
    start: () => refresh.now(),
    onEvents(events) {
      if (events.some((e) => e.type === 'build.created' || e.type === 'job.started' || e.type === 'job.finished' || e.type === 'job.placed')) refresh();
    },
    stop: () => refresh.cancel(),
  };
}

const NODE_W = 190;
const NODE_H = 58;
const COLUMN_GAP = 70;
const ROW_GAP = 22;
const MARGIN = 20;
/** How far below the jobs an edge that skips a column dips. */
const SKIP_DIP = 36;

/** Columns by dependency depth: a job sits one column right of its deepest parent. */
function layout(jobs) {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const depth = new Map();
  const depthOf = (job, seen = new Set()) => {
    if (depth.has(job.name)) return depth.get(job.name);
    if (seen.has(job.name)) return 0; // cannot happen for a validated definition
    seen.add(job.name);
    const parents = job.dependsOn.map((name) => byName.get(name)).filter(Boolean);
    const d = parents.length === 0 ? 0 : 1 + Math.max(...parents.map((p) => depthOf(p, seen)));
    depth.set(job.name, d);
    return d;
  };
  const columns = [];
  for (const job of jobs) {
    const d = depthOf(job);
    (columns[d] ??= []).push(job);
  }
  const position = new Map();
  columns.forEach((column, c) =>
    column.forEach((job, r) => position.set(job.name, { x: MARGIN + c * (NODE_W + COLUMN_GAP), y: MARGIN + r * (NODE_H + ROW_GAP) })),
  );
  const rows = Math.max(1, ...columns.map((c) => c.length));
  return {
    position,
    width: MARGIN * 2 + columns.length * NODE_W + Math.max(0, columns.length - 1) * COLUMN_GAP,
    height: MARGIN * 2 + rows * NODE_H + (rows - 1) * ROW_GAP + SKIP_DIP,
  };
}

function buildPage(buildId) {
  const body = el('div');
  let build = null;
  let selected = null; // job id
  let consoleSeq = 0;
  let consoleJob = null;
  const consoleText = el('pre', { class: 'console', id: 'console-text' });

  const refresh = coalesce(async () => {
    build = await api(`/api/v1/dashboard/builds/${encodeURIComponent(buildId)}`);
    render();
  });
  const readConsole = coalesce(async () => {
    const jobId = selected;
    if (!jobId) return;
    // The api answers a page at a time: read on until a read brings nothing new.
    for (;;) {
      const chunks = await api(`/api/v1/jobs/${encodeURIComponent(jobId)}/console?after=${consoleSeq}`);
      if (jobId !== selected) return;
      const before = consoleSeq;
      for (const chunk of chunks) {
        if (chunk.seq <= consoleSeq) continue;
        consoleSeq = chunk.seq;
        consoleText.append(chunk.text);
      }
      consoleText.scrollTop = consoleText.scrollHeight;
      if (consoleSeq === before) return;
    }
  }, 50);

  function select(jobId) {
    selected = jobId;
    if (consoleJob !== jobId) {
      consoleJob = jobId;
      consoleSeq = 0;
      consoleText.textContent = '';
    }
    render();
    readConsole.now();
  }

  function graph() {
    const { position, width, height } = layout(build.jobs);
    const byName = new Map(build.jobs.map((j) => [j.name, j]));
    const edges = build.jobs.flatMap((job) =>
      job.dependsOn
        .filter((parent) => byName.has(parent))
        .map((parent) => {
          const from = position.get(parent);
          const to = position.get(job.name);
          const attributes = { class: 'edge', 'data-from': parent, 'data-to': job.name, 'marker-end': 'url(#arrow)' };
          if (to.x - from.x > NODE_W + COLUMN_GAP) {
            // Skips a column: pass under the jobs in between, bottom to bottom.
            const x1 = from.x + NODE_W / 2;
            const x2 = to.x + NODE_W / 2;
            const y1 = from.y + NODE_H;
            const y2 = to.y + NODE_H + 6;
            const low = Math.max(y1, y2) + SKIP_DIP;
            return svg('path', { ...attributes, d: `M ${x1} ${y1} C ${x1} ${low}, ${x2} ${low}, ${x2} ${y2}` });
          }
          const x1 = from.x + NODE_W;
          const y1 = from.y + NODE_H / 2;
          const x2 = to.x - 6;
          const y2 = to.y + NODE_H / 2;
          const bend = Math.max(30, (x2 - x1) / 2);
          return svg('path', { ...attributes, d: `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}` });
        }),
    );
    const nodes = build.jobs.map((job) => {
      const { x, y } = position.get(job.name);
      const node = svg(
        'g',
        {
          class: `job${job.id === selected ? ' selected' : ''}`,
          transform: `translate(${x} ${y})`,
          'data-job': job.name,
          'data-job-id': job.id,
          'data-state': job.state,
          'data-cluster': job.cluster ?? '',
          tabindex: 0,
        },
        svg('title', {}, `${job.name}: ${job.state}${job.cluster ? ` on ${job.cluster}` : ''}${job.message ? ` — ${job.message}` : ''}`),
        svg('rect', { class: 'box', width: NODE_W, height: NODE_H, rx: 6 }),
        svg('text', { class: 'name', x: 12, y: 22 }, job.name),
        svg('text', { class: 'detail', x: 12, y: 42 }, `${job.state} · ${job.cluster ?? 'not placed'}`),
      );
      node.addEventListener('click', () => select(job.id));
      node.addEventListener('keydown', (event) => {
        if (event.key === 'Enter') select(job.id);
      });
      return node;
    });
    return svg(
      'svg',
      { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'job graph' },
      svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse' }, svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#9aa5b1' }))),
      edges,
      nodes,
    );
  }

  function detail() {
    const job = build.jobs.find((j) => j.id === selected);
    if (!job) return el('p', { class: 'muted' }, 'Click a job to see its console output, live.');
    return el(
      'div',
      { id: 'job-detail' },
      el('h2', {}, `Job ${job.name} `, stateBadge(job.state, 'job-state')),
      el(
        'dl',
        {},
        el('dt', {}, 'cluster'),
        el('dd', {}, job.cluster ?? 'not placed'),
        el('dt', {}, 'message'),
        el('dd', {}, job.message ?? '—'),
        el('dt', {}, 'exit code'),
        el('dd', {}, job.exitCode ?? '—'),
        el('dt', {}, 'started'),
        el('dd', {}, when(job.startedAt)),
        el('dt', {}, 'ended'),
        el('dd', {}, when(job.finishedAt)),
        el('dt', {}, 'job id'),
        el('dd', {}, el('code', {}, job.id)),
      ),
      consoleText,
    );
  }

  function render() {
    body.replaceChildren(
      el('h2', {}, `Build ${build.project} #${build.number} `, stateBadge(build.state, 'build-state')),
      el('p', { class: 'muted' }, `${build.jobs.length} jobs · created ${when(build.createdAt)} · `, el('code', {}, build.id)),
      el('div', { class: 'graph', id: 'graph' }, graph()),
      el('div', { class: 'job-detail' }, detail()),
    );
  }

  return {
    name: 'builds',
    element: body,
    start: () => refresh.now(),
    onEvents(events) {
      const jobIds = new Set((build?.jobs ?? []).map((j) => j.id));
      let changed = false;
      let console = false;
      for (const event of events) {
        const payload = event.payload ?? {};
        if (event.type === 'job.console') {
          if (payload.jobId === selected) console = true;
        } else if (payload.buildId === buildId || jobIds.has(payload.jobId)) {
          changed = true;
        }
      }
      if (changed) refresh();
      if (console) readConsole();
      // The last output of a job may land just before it ends: read once more when it does.
      if (changed && selected && events.some((e) => e.type === 'job.finished' && e.payload?.jobId === selected)) readConsole();
    },
    stop() {
      refresh.cancel();
      readConsole.cancel();
    },
  };
}

// ---- routing -------------------------------------------------------------------------------

let current = null;

function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [page, id] = hash.split('/');
  current?.stop();
  if (current) listeners.delete(current.onEvents);
  if (page === 'builds' && id) current = buildPage(decodeURIComponent(id));
  else if (page === 'builds') current = buildsPage();
  else current = clustersPage();
  for (const link of document.querySelectorAll('nav a')) link.classList.toggle('current', link.dataset.nav === current.name);
  listeners.add(current.onEvents);
  view.replaceChildren(current.element);
  current.start();
}

window.addEventListener('hashchange', () => {
  if (token()) route();
});
takeTokenFromAddress();
if (token()) {
  connectLive();
  void showUser();
  route();
} else {
  void showLogin();
}

