import { ClientRequest, get as httpGet } from 'node:http';
import { STREAM_LIMITS } from '../../apps/api/src/events/event-stream.service';
import { spawn } from 'node:child_process';
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { PoolClient } from 'pg';
import { parseInstallConfig } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { EventFeed, EventRepository, FEED_START, parseFeedCursor } from '@infrabox/events';
import { ApiModule } from '../../apps/api/src/api.module';
import { CLI, cliEnvironment } from '../support/cli';
import { authSection, uniqueClusterName } from '../support/clusters';
import { databaseUrl, eventually, openDatabase, uniqueEventType } from '../support/database';
import { masterAdminToken } from '../support/auth';
import { sseMessages } from '../support/sse';

/**
 * An event whose transaction took its id early and commits late (a smaller id committing after a
 * bigger one) must still reach a follower — once — and must not hold back the events after it.
 */
describe('following the event table (EventFeed, the SSE stream, infrabox events --follow)', () => {
  let db: Database;
  let events: EventRepository;
  let app: INestApplication;
  let url: string;
  /** Reads need a login; the stream's rules per caller have tests of their own (test/auth). */
  let admin: Record<string, string>;

  beforeAll(async () => {
    db = openDatabase();
    admin = { authorization: `Bearer ${await masterAdminToken()}` };
    events = new EventRepository(db);
    const name = uniqueClusterName('feed');
    const config = parseInstallConfig(`host: http://127.0.0.1:1\ncluster:\n  name: ${name}\n${authSection(name)}`, { DATABASE_URL: databaseUrl() });
    app = (await Test.createTestingModule({ imports: [ApiModule.forConfig(config)] }).compile()).createNestApplication({ logger: ['error'] });
    app.enableShutdownHooks();
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  /** Inserts an event in a transaction left open; returns its id and the commit. */
  async function openTransactionWithEvent(type: string, payload: unknown): Promise<{ id: string; commit: () => Promise<void> }> {
    const client: PoolClient = await db.pool.connect();
    await client.query('BEGIN');
    const { rows } = await client.query<{ id: string }>('INSERT INTO event (type, payload) VALUES ($1, $2) RETURNING id', [type, JSON.stringify(payload)]);
    return {
      id: rows[0].id,
      commit: async () => {
        await client.query('COMMIT');
        client.release();
      },
    };
  }

  it('EventFeed: delivers a later event past an open transaction at once, then the late one when it commits, each once', async () => {
    const type = uniqueEventType('late');
    const feed = await EventFeed.from(events, FEED_START, type);
    expect(await feed.read()).toEqual([]);

    const late = await openTransactionWithEvent(type, 'late');
    const early = await events.insert(type, null, 'early');
    expect(BigInt(late.id)).toBeLessThan(BigInt(early));
    expect((await feed.read()).map((e) => e.id)).toEqual([early]);
    const cursorBeforeCommit = feed.cursor;
    expect(parseFeedCursor(cursorBeforeCommit).seenIds).toContain(early);

    await late.commit();
    expect((await feed.read()).map((e) => e.id)).toEqual([late.id]);
    expect(await feed.read()).toEqual([]);

    // A feed resumed from the cursor taken before the commit gets the late event, not the other.
    const resumed = await EventFeed.from(events, parseFeedCursor(cursorBeforeCommit), type);
    expect((await resumed.read()).map((e) => e.id)).toEqual([late.id]);
    expect(await resumed.read()).toEqual([]);
  });

  it('EventFeed.fromNow: skips what committed before, pages through many events, and forgets ids once the horizon passes them', async () => {
    const type = uniqueEventType('now');
    await events.insert(type, null, 'before');
    const feed = await EventFeed.fromNow(events, type, 10);
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) ids.push(await events.insert(type, null, i));
    const read: string[] = [];
    do read.push(...(await feed.read()).map((e) => e.id));
    while (feed.behind);
    expect(read).toEqual(ids);
    expect(await feed.read()).toEqual([]);
    // No transaction of ours is open: the horizon passed every event read, the cursor is the horizon alone.
    await eventually(async () => (await feed.read()).length === 0 && !feed.cursor.includes(':'), 10_000, 'the horizon to pass the events read');
  });

  it('the SSE stream resumes from Last-Event-ID and delivers a late commit', async () => {
    const type = uniqueEventType('sse');
    const late = await openTransactionWithEvent(type, 'late');
    const early = await events.insert(type, null, 'early');
    const first = await readStream(`${url}/api/v1/events/stream?after=0&type=${type}`, admin, (seen) => seen.ready);
    expect(first.ids).toEqual([early]);

    await late.commit();
    const second = await readStream(`${url}/api/v1/events/stream?type=${type}`, { ...admin, 'last-event-id': first.lastId! }, (seen) => seen.ids.length > 0);
    expect(second.ids).toEqual([late.id]);

    const bad = await fetch(`${url}/api/v1/events/stream?after=12:abc`, { headers: admin });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/^after: '12:abc' is not a feed position/);
  });

  it('infrabox events --follow prints an event that commits after a later one, each once', async () => {
    const type = uniqueEventType('follow');
    const child = spawn(process.execPath, [CLI, 'events', '--follow', '--channel', type, '--api', url], { env: cliEnvironment({ INFRABOX_TOKEN: admin.authorization.slice('Bearer '.length) }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const late = await openTransactionWithEvent(type, 'late');
      const early = await events.insert(type, null, 'early');
      await eventually(() => stdout.includes(`${early} ${type} - "early"\n`), 15_000, 'the event committed first');
      await late.commit();
      await eventually(() => stdout.includes(`${late.id} ${type} - "late"\n`), 15_000, `the late event; stderr: ${stderr}`);
      const after = await events.insert(type, null, 'after');
      await eventually(() => stdout.includes(`${after} ${type} - "after"\n`), 15_000, 'the event after');
      expect(stdout).toBe(`${early} ${type} - "early"\n${late.id} ${type} - "late"\n${after} ${type} - "after"\n`);
    } finally {
      child.kill('SIGINT');
    }
  });

  it('caps open event streams per client and in all: 2,000 asked at once get 50 and 429s naming the cap, and the api stays ready and quick', async () => {
    const opened: ClientRequest[] = [];
    const answers = await Promise.all(
      Array.from({ length: 2_000 }, () =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const request = httpGet(`${url}/api/v1/events/stream?after=now`, { agent: false, headers: admin }, (response) => {
            if (response.statusCode === 200) return resolve({ status: 200, body: '' }); // left open
            let body = '';
            response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve({ status: response.statusCode!, body }));
          });
          request.on('error', reject);
          opened.push(request);
        }),
      ),
    );
    try {
      const statuses = answers.map((a) => a.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(STREAM_LIMITS.perClient);
      expect(statuses.filter((s) => s === 429)).toHaveLength(2_000 - STREAM_LIMITS.perClient);
      const refused = JSON.parse(answers.find((a) => a.status === 429)!.body) as { message: string };
      expect(refused.message).toMatch(new RegExp(`has ${STREAM_LIMITS.perClient} event streams open, the most one client may`));
      // The api answers everyone else meanwhile.
      const started = Date.now();
      expect((await fetch(`${url}/health/ready`)).status).toBe(200);
      expect((await fetch(`${url}/api/v1/builds`, { headers: admin })).status).toBe(200);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      for (const request of opened) request.destroy();
    }
    // Closed streams free their places.
    await eventually(async () => {
      const again = await fetch(`${url}/api/v1/events/stream?after=now`, { headers: admin, signal: AbortSignal.timeout(2_000) }).catch(() => null);
      const ok = again?.status === 200;
      await again?.body?.cancel().catch(() => undefined);
      return ok;
    }, 10_000, 'a new stream after the others closed');
  }, 60_000);
});

interface StreamSeen {
  ids: string[];
  lastId: string | undefined;
  ready: boolean;
}

/** Reads an SSE stream until `done(seen)` (or 15 s), then closes it. */
async function readStream(url: string, headers: Record<string, string>, done: (seen: StreamSeen) => boolean): Promise<StreamSeen> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 15_000);
  const seen: StreamSeen = { ids: [], lastId: undefined, ready: false };
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  try {
    for await (const message of sseMessages(response.body)) {
      if (message.id !== undefined) seen.lastId = message.id;
      if (message.event === 'events') seen.ids.push(...(JSON.parse(message.data!) as Array<{ id: string }>).map((e) => e.id));
      if (message.event === 'ready') seen.ready = true;
      if (done(seen)) break;
    }
  } catch (error) {
    if (!abort.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return seen;
}
