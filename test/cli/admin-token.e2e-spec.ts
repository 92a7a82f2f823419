import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { newPrivateKeyPem } from '@infrabox/auth';
import { MASTER_CLUSTER } from '@infrabox/config';
import { registeredCluster, tokenServiceFor } from '../support/auth';
import { freePort, runCli } from '../support/cli';
import { authSection, testSigningKeyFile, uniqueClusterName } from '../support/clusters';
import { databaseUrl, openDatabase } from '../support/database';

/** `infrabox admin token` signs with the master's key file; `infrabox admin rotate-key` replaces a cluster's key. */
describe('infrabox admin token and rotate-key', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'infrabox-admin-token-'));
  });
  const config = async (name: string, text: string) => {
    const file = path.join(dir, name);
    await writeFile(file, text);
    return file;
  };
  const env = () => ({ DATABASE_URL: databaseUrl() });

  it("prints a token that every cluster verifies as the master's admin token (database from $DATABASE_URL)", async () => {
    const file = await config('master.yaml', `host: http://127.0.0.1:1\n${authSection(MASTER_CLUSTER)}`);
    const result = await runCli(['admin', 'token', '--config', file, '--ttl', '90'], { cwd: dir, env: env() });
    expect([result.code, result.stderr]).toEqual([0, '']);
    const token = result.stdout.trim();
    expect(decodeJwt(token)).toMatchObject({ kind: 'admin', iss: MASTER_CLUSTER, sub: `admin:${MASTER_CLUSTER}` });
    const db = openDatabase(1);
    try {
      expect(await tokenServiceFor(db, uniqueClusterName('w')).verify(token)).toEqual({ kind: 'admin', issuer: MASTER_CLUSTER });
    } finally {
      await db.close();
    }
  });

  it("refuses a worker's config, and a master config whose key file is not the master's (the database alone mints nothing)", async () => {
    const worker = uniqueClusterName('adm');
    const workerFile = await config('worker.yaml', `host: http://127.0.0.1:1\ncluster:\n  name: ${worker}\n${authSection(worker)}`);
    const refused = await runCli(['admin', 'token', '--config', workerFile], { cwd: dir, env: env() });
    expect([refused.code, refused.stdout]).toEqual([1, '']);
    expect(refused.stderr).toBe(`admin tokens are issued by the master cluster only; give the master's config (this one is of cluster '${worker}')\n`);

    // Whoever reaches the database but not the master's key file: a key of their own, named the master's.
    const ownKey = path.join(dir, 'own-key.pem');
    await writeFile(ownKey, newPrivateKeyPem(), { mode: 0o600 });
    const impostor = await config('impostor.yaml', `host: http://127.0.0.1:1\nauth:\n  signing_key: ${ownKey}\n`);
    const forged = await runCli(['admin', 'token', '--config', impostor], { cwd: dir, env: env() });
    expect([forged.code, forged.stdout]).toEqual([1, '']);
    expect(forged.stderr).toMatch(/^cannot sign an admin token of cluster 'master': cluster 'master': the token signing key .*own-key\.pem is not the one pinned in the database/);
  });

  it('rotate-key pins a new key and writes it to the key file; tokens of the old key are refused from then on', async () => {
    const db = openDatabase(1);
    try {
      const cluster = await registeredCluster(db, uniqueClusterName('rot'));
      const peer = uniqueClusterName('peer');
      const old = await tokenServiceFor(db, cluster).issueClusterToken(peer, 600);
      expect(await tokenServiceFor(db, peer).verify(old)).toEqual({ kind: 'cluster', cluster });
      const before = await readFile(testSigningKeyFile(cluster), 'utf8');

      const file = await config('rotate.yaml', `host: http://127.0.0.1:1\ncluster:\n  name: ${cluster}\n${authSection(cluster)}`);
      const rotated = await runCli(['admin', 'rotate-key', '--config', file], { cwd: dir, env: env() });
      expect([rotated.code, rotated.stderr]).toEqual([0, '']);
      expect(rotated.stdout).toMatch(new RegExp(`^new token signing key in ${testSigningKeyFile(cluster)} \\(the old one, if any, is .*\\.retired\\); restart the cluster's apps\\n$`));
      expect(await readFile(testSigningKeyFile(cluster), 'utf8')).not.toBe(before);
      const retired = (await readdir(path.dirname(testSigningKeyFile(cluster)))).filter((name) => name.endsWith('.retired'));
      expect(retired).toHaveLength(1);
      expect(await readFile(path.join(path.dirname(testSigningKeyFile(cluster)), retired[0]), 'utf8')).toBe(before);

      // A verifier that reads the keys now refuses the old token and accepts one of the new key.
      await expect(tokenServiceFor(db, peer).verify(old)).rejects.toThrow('bad signature');
      const fresh = await tokenServiceFor(db, cluster).issueClusterToken(peer, 600);
      expect(await tokenServiceFor(db, peer).verify(fresh)).toEqual({ kind: 'cluster', cluster });
    } finally {
      await db.close();
    }
  });

  it('exits 1 with one line when the embedded database is not running, and 2 for a bad --ttl or config', async () => {
    const port = await freePort();
    const file = await config('down.yaml', `host: http://127.0.0.1:1\ndatabase:\n  embedded:\n    port: ${port}\n${authSection(MASTER_CLUSTER)}`);
    const down = await runCli(['admin', 'token', '--config', file], { cwd: dir, env: { DATABASE_URL: undefined } });
    expect(down.code).toBe(1);
    expect(down.stdout).toBe('');
    expect(down.stderr).toMatch(new RegExp(`^cannot sign an admin token of cluster 'master': .*ECONNREFUSED.* \\(is \`infrabox up\` running\\?\\)\\n$`));
    expect((await runCli(['admin', 'token', '--config', file, '--ttl', '0'], { cwd: dir })).code).toBe(2);
    const missing = await runCli(['admin', 'token', '--config', path.join(dir, 'absent.yaml')], { cwd: dir });
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining('cannot read')]);
  });
});
