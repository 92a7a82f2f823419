import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { parseInstallConfig, renderRegistryConfig } from '@infrabox/config';
import { freePort } from '../../../bench/free-port';
import type { JobPrincipal } from './principal.types';
import { grantedRegistryActions, parseRegistryScope } from './registry-access.policy';
import { createRegistrySigningKey, libtrustKeyId, loadRegistrySigningKey, publicKeyOfCertificate, signRegistryToken } from './registry-token.signer';

describe('registry access policy', () => {
  const scope = (text: string) => parseRegistryScope(text);
  it('a job or project token pulls and pushes its own project only', () => {
    const job: JobPrincipal = { kind: 'job', jobId: 'j', buildId: 'b', projectId: 'p', parents: [], issuer: 'w' };
    expect(grantedRegistryActions(job, scope('repository:demo/build:pull,push'), { projectName: 'demo' })).toEqual({ actions: ['pull', 'push'] });
    const other = grantedRegistryActions(job, scope('repository:other/build:pull'), { projectName: 'demo' });
    expect(other.actions).toEqual([]);
    expect(other.refusal).toContain("not 'other/build'");
    expect(grantedRegistryActions(job, scope('repository:demo/build:delete'), { projectName: 'demo' }).actions).toEqual([]);
  });
  it('a peer pulls only what it forwards; an admin anything', () => {
    const peer = { kind: 'cluster', cluster: 'w2' } as const;
    expect(grantedRegistryActions(peer, scope('repository:demo/x:pull'), { peerForwards: false }).actions).toEqual([]);
    expect(grantedRegistryActions(peer, scope('repository:demo/x:pull,push'), { peerForwards: true }).actions).toEqual(['pull']);
    expect(grantedRegistryActions({ kind: 'admin', issuer: 'm' }, scope('registry:catalog:*'), {}).actions).toEqual(['*']);
    expect(grantedRegistryActions(peer, scope('registry:catalog:*'), { peerForwards: true }).actions).toEqual([]);
  });
  it('a peer pushes only an image a job here waits for; the cluster itself pulls and pushes', () => {
    const peer = { kind: 'cluster', cluster: 'w2' } as const;
    const refused = grantedRegistryActions(peer, scope('repository:demo/x:pull,push'), { peerForwards: false, peerDelivers: false });
    expect(refused.actions).toEqual([]);
    expect(refused.refusal).toContain('delivers nothing');
    expect(grantedRegistryActions(peer, scope('repository:demo/x:pull,push'), { peerForwards: false, peerDelivers: true }).actions).toEqual(['pull', 'push']);
    expect(grantedRegistryActions(peer, scope('repository:demo/x:push'), { peerDelivers: false }).refusal).toContain('delivers nothing');
    expect(grantedRegistryActions(peer, scope('repository:demo/x:pull,push'), { peerForwards: true, peerDelivers: true })).toEqual({ actions: ['pull', 'push'] });
    expect(grantedRegistryActions(peer, scope('repository:demo/x:pull,push'), { ownCluster: true })).toEqual({ actions: ['pull', 'push'] });
  });
  it('refuses malformed scopes', () => {
    expect(() => parseRegistryScope('repository:Demo/x:pull')).toThrow(TypeError);
    expect(() => parseRegistryScope('nonsense')).toThrow(TypeError);
  });
});

describe('registry token signing', () => {
  it('signs ES256 with the libtrust kid of its certificate', async () => {
    const stored = await createRegistrySigningKey('c1');
    const key = loadRegistrySigningKey(stored.privatePem, stored.certificatePem);
    expect(key.keyId).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    const spki = publicKeyOfCertificate(stored.certificatePem).export({ type: 'spki', format: 'der' });
    expect(libtrustKeyId(spki)).toBe(key.keyId);
    const token = await signRegistryToken(key, { issuer: 'iss', service: 'svc', subject: 'job:j', access: [{ type: 'repository', name: 'demo/x', actions: ['pull'] }], ttlSeconds: 60 });
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: 'JWT', kid: key.keyId });
    const { payload } = await jwtVerify(token, publicKeyOfCertificate(stored.certificatePem), { issuer: 'iss', audience: 'svc' });
    expect(payload.access).toEqual([{ type: 'repository', name: 'demo/x', actions: ['pull'] }]);
  });

  const registryBinary = '/usr/bin/docker-registry';
  (existsSync(registryBinary) ? it : it.skip)('a real docker-registry (distribution 2.8) accepts the token for the granted scope only', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'infrabox-registry-token-'));
    const port = await freePort();
    const stored = await createRegistrySigningKey('c1');
    const key = loadRegistrySigningKey(stored.privatePem, stored.certificatePem);
    await writeFile(path.join(dir, 'ca.pem'), stored.certificatePem);
    const config = parseInstallConfig(`host: http://127.0.0.1:1\nstorage: {local: {enabled: true, path: ${dir}}}\nregistry: {port: ${port}}\n`, {}, dir);
    await writeFile(
      path.join(dir, 'config.yml'),
      renderRegistryConfig(config, '127.0.0.1', { realm: 'http://127.0.0.1:1/token', service: 'svc', issuer: 'iss', rootCertBundle: path.join(dir, 'ca.pem') }),
    );
    const child = spawn(registryBinary, ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' });
    try {
      const base = `http://127.0.0.1:${port}`;
      const get = async (route: string, token?: string) => {
        for (let i = 0; ; i++) {
          try {
            return await fetch(`${base}${route}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
          } catch (error) {
            if (i > 50) throw error;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      };
      const anonymous = await get('/v2/demo/x/tags/list');
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toContain('realm="http://127.0.0.1:1/token"');
      const token = await signRegistryToken(key, { issuer: 'iss', service: 'svc', subject: 'job:j', access: [{ type: 'repository', name: 'demo/x', actions: ['pull'] }], ttlSeconds: 60 });
      // Accepted: the repository is unknown (404), not unauthorized.
      expect((await get('/v2/demo/x/tags/list', token)).status).toBe(404);
      expect((await get('/v2/other/x/tags/list', token)).status).toBe(401);
      const stranger = loadRegistrySigningKey((await createRegistrySigningKey('c2')).privatePem, (await createRegistrySigningKey('c2')).certificatePem);
      const forged = await signRegistryToken({ ...stranger, keyId: key.keyId }, { issuer: 'iss', service: 'svc', subject: 'x', access: [{ type: 'repository', name: 'demo/x', actions: ['pull'] }], ttlSeconds: 60 });
      expect((await get('/v2/demo/x/tags/list', forged)).status).toBe(401);
    } finally {
      child.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
