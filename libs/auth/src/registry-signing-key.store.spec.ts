import { createPrivateKey } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureRegistrySigningKey } from './registry-signing-key.store';
import { createRegistrySigningKey, loadRegistrySigningKey } from './registry-token.signer';

describe('ensureRegistrySigningKey', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'infrabox-registry-key-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('creates the key once (mode 600, in a new folder) and its certificate next to it; later calls read it', async () => {
    const keyFile = path.join(dir, 'registry', 'c1', 'signing-key.pem');
    const certificateFile = path.join(dir, 'registry', 'c1', 'signing-key.crt');
    const first = await ensureRegistrySigningKey(keyFile, certificateFile, 'c1');
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(certificateFile, 'utf8')).toBe(first.certificatePem);
    expect(await readFile(keyFile, 'utf8')).toContain('-----BEGIN PRIVATE KEY-----');
    await rm(certificateFile);
    const second = await ensureRegistrySigningKey(keyFile, certificateFile, 'c1');
    expect(second.keyId).toBe(first.keyId);
    expect(await readFile(certificateFile, 'utf8')).toBe(first.certificatePem);
  });

  it('makes one key when several processes ask at once', async () => {
    const keyFile = path.join(dir, 'k.pem');
    const keys = await Promise.all([1, 2, 3, 4].map(() => ensureRegistrySigningKey(keyFile, path.join(dir, 'k.crt'), 'c1')));
    expect(new Set(keys.map((k) => k.keyId)).size).toBe(1);
    expect(await readFile(path.join(dir, 'k.crt'), 'utf8')).toBe(keys[0]!.certificatePem);
  });

  it('refuses a file without a certificate, or with the certificate of another key, saying what to do', async () => {
    const a = await createRegistrySigningKey('a');
    const b = await createRegistrySigningKey('b');
    await writeFile(path.join(dir, 'only-key.pem'), a.privatePem);
    await expect(ensureRegistrySigningKey(path.join(dir, 'only-key.pem'), path.join(dir, 'x.crt'), 'c1')).rejects.toThrow(
      /only-key\.pem: expected a PEM private key \(PKCS#8 or EC, P-256\) and its certificate; remove the file/,
    );
    await writeFile(path.join(dir, 'mixed.pem'), a.privatePem + b.certificatePem);
    await expect(ensureRegistrySigningKey(path.join(dir, 'mixed.pem'), path.join(dir, 'x.crt'), 'c1')).rejects.toThrow('the certificate is not of the private key');
  });

  it('reads an EC (SEC1) private key, as Helm and openssl write it, and writes nothing where its certificate already is (a read-only Secret volume)', async () => {
    const made = await createRegistrySigningKey('c1');
    const sec1 = createPrivateKey(made.privatePem).export({ type: 'sec1', format: 'pem' }).toString();
    expect(sec1).toContain('-----BEGIN EC PRIVATE KEY-----');
    const mounted = path.join(dir, 'mounted');
    await mkdir(mounted);
    await writeFile(path.join(mounted, 'signing-key.pem'), sec1 + made.certificatePem);
    await writeFile(path.join(mounted, 'signing-key.crt'), made.certificatePem);
    const before = { files: await readdir(mounted), mtimeMs: (await stat(mounted)).mtimeMs };
    await new Promise((resolve) => setTimeout(resolve, 20));
    const key = await ensureRegistrySigningKey(path.join(mounted, 'signing-key.pem'), path.join(mounted, 'signing-key.crt'), 'c1');
    expect(key.keyId).toBe(loadRegistrySigningKey(made.privatePem, made.certificatePem).keyId);
    expect({ files: await readdir(mounted), mtimeMs: (await stat(mounted)).mtimeMs }).toEqual(before);
  });
});
