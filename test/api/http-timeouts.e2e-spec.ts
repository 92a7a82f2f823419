import { connect } from 'node:net';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { parseInstallConfig } from '@infrabox/config';
import { ApiModule } from '../../apps/api/src/api.module';
import { configureApiHttp } from '../../apps/api/src/http/http-setup';
import { craftTar } from '../support/archive';
import { projectToken } from '../support/auth';
import { authSection, uniqueClusterName } from '../support/clusters';
import { databaseUrl } from '../support/database';

/** The api's HTTP timeouts: a stalled client is cut after the idle timeout; a slow but steady upload is not. */
describe('api: timeouts sized for large uploads (real HTTP)', () => {
  const project = `timeouts-${uniqueClusterName('p')}`;
  let app: INestApplication;
  let port: number;
  let token: string;

  beforeAll(async () => {
    const name = uniqueClusterName('timeouts');
    const dir = await mkdtemp(path.join(tmpdir(), 'infrabox-timeouts-'));
    const config = parseInstallConfig(
      `host: http://127.0.0.1:1\ncluster:\n  name: ${name}\nstorage:\n  local:\n    enabled: true\n    path: ${dir}/storage\n${authSection(name)}timeouts:\n  api_idle: 1\n`,
      { DATABASE_URL: databaseUrl() },
    );
    app = await NestFactory.create(ApiModule.forConfig(config), { logger: ['error'] });
    configureApiHttp(app);
    await app.listen(0, '127.0.0.1');
    port = Number(new URL((await app.getUrl()).replace('[::1]', '127.0.0.1')).port);
    token = await projectToken(project);
  });
  afterAll(() => app?.close());

  /** Sends the request head and `parts` of the body, `gapMs` apart; resolves with what came back and when the socket closed. */
  function slowUpload(body: Buffer, parts: number, gapMs: number, sendAll = true): Promise<{ response: string; closedAfterMs: number }> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const started = Date.now();
      let response = '';
      socket.setEncoding('utf8').on('data', (text: string) => (response += text));
      socket.on('error', reject);
      socket.on('close', () => resolve({ response, closedAfterMs: Date.now() - started }));
      socket.write(
        `PUT /api/v1/projects/${project}/source HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${token}\r\n` +
          `content-type: application/x-tar\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`,
      );
      const size = Math.ceil(body.length / parts);
      let sent = 0;
      const next = () => {
        if (sent >= (sendAll ? parts : 1)) return;
        socket.write(body.subarray(sent * size, (sent + 1) * size));
        sent++;
        setTimeout(next, gapMs);
      };
      next();
    });
  }

  it('closes a connection that goes quiet mid-upload after the idle timeout, and stores nothing', async () => {
    const tar = await craftTar([{ name: 'a.txt', content: 'x'.repeat(100_000) }]);
    const stalled = await slowUpload(tar, 10, 100, false); // the first tenth, then nothing
    expect(stalled.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(stalled.closedAfterMs).toBeLessThan(10_000);
    expect(stalled.response).not.toMatch(/^HTTP\/1\.1 201/);
  });

  it('takes an upload that lasts far longer than the idle timeout while bytes keep coming', async () => {
    const tar = await craftTar([{ name: 'b.txt', content: 'y'.repeat(60_000) }]);
    const steady = await slowUpload(tar, 12, 300); // about 3.6 s in all, never 1 s quiet
    expect(steady.closedAfterMs).toBeGreaterThan(3_000);
    expect(steady.response).toMatch(/^HTTP\/1\.1 201 /);
    expect(steady.response).toContain(`"size":${tar.length}`);
  });
});
