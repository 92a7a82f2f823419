import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { tokenServiceFor } from '../support/auth';
import { freePort, runCli } from '../support/cli';
import { uniqueClusterName } from '../support/clusters';
import { databaseUrl, openDatabase } from '../support/database';

/** `infrabox admin token`: signs with the cluster's key from its database; one clear line when it cannot. */
describe('infrabox admin token', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'infrabox-admin-token-'));
  });
  const config = async (name: string, text: string) => {
    const file = path.join(dir, name);
    await writeFile(file, text);
    return file;
  };

  it('prints a token the cluster verifies as an admin token (database from $DATABASE_URL)', async () => {
    const cluster = uniqueClusterName('adm');
    const file = await config('worker.yaml', `host: http://127.0.0.1:1\ncluster:\n  name: ${cluster}\n`);
    const result = await runCli(['admin', 'token', '--config', file, '--ttl', '90'], { cwd: dir, env: { DATABASE_URL: databaseUrl() } });
    expect([result.code, result.stderr]).toEqual([0, '']);
    const token = result.stdout.trim();
    expect(decodeJwt(token)).toMatchObject({ kind: 'admin', iss: cluster, sub: `admin:${cluster}` });
    const db = openDatabase(1);
    try {
      expect(await tokenServiceFor(db, cluster).verify(token)).toEqual({ kind: 'admin', issuer: cluster });
    } finally {
      await db.close();
    }
  });

  it('exits 1 with one line when the embedded database is not running, and 2 for a bad --ttl or config', async () => {
    const port = await freePort();
    const file = await config('down.yaml', `host: http://127.0.0.1:1\ndatabase:\n  embedded:\n    port: ${port}\n`);
    const down = await runCli(['admin', 'token', '--config', file], { cwd: dir, env: { DATABASE_URL: undefined } });
    expect(down.code).toBe(1);
    expect(down.stdout).toBe('');
    expect(down.stderr).toMatch(new RegExp(`^cannot sign an admin token with the key of cluster 'master': .*ECONNREFUSED.* \\(is \`infrabox up\` running\\?\\)\\n$`));
    expect((await runCli(['admin', 'token', '--config', file, '--ttl', '0'], { cwd: dir })).code).toBe(2);
    const missing = await runCli(['admin', 'token', '--config', path.join(dir, 'absent.yaml')], { cwd: dir });
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining('cannot read')]);
  });
});
