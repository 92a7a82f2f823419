import { createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createRegistrySigningKey, loadRegistrySigningKey, publicKeyOfCertificate, type RegistrySigningKey } from './registry-token.signer';

/** PKCS#8, as this store writes it, or SEC1 (`EC PRIVATE KEY`), as Helm's genPrivateKey and `openssl ecparam -genkey` write it. */
const PRIVATE_KEY_PEM = /-----BEGIN (EC )?PRIVATE KEY-----[\s\S]+?-----END \1PRIVATE KEY-----\n?/;
const CERTIFICATE_PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/;

/** A cluster's registry signing key as stored: the key, and the file of its certificate (the registry's `rootcertbundle`). */
export interface StoredRegistrySigningKey extends RegistrySigningKey {
  keyFile: string;
  certificateFile: string;
}

/**
 * The registry token signing key of cluster `cluster` in `keyFile` (PEM: the private key, PKCS#8
 * or EC, and its self-signed certificate, mode 600), created once when missing; and its certificate
 * alone in `certificateFile` (what distribution's `rootcertbundle` reads), rewritten when it is
 * missing or differs. Both the api (on its first token request) and `infrabox up` (before it
 * starts the registry) call this; whichever comes first creates the key, the other reads it:
 * the new file is written to a temporary name and then linked into place, which fails rather
 * than replaces when the other won (a rename would let the second key replace the first after
 * the registry read its certificate). The key never goes into the database.
 */
export async function ensureRegistrySigningKey(keyFile: string, certificateFile: string, cluster: string): Promise<StoredRegistrySigningKey> {
  const text = (await readIfExists(keyFile)) ?? (await createKeyFile(keyFile, cluster));
  const privatePem = PRIVATE_KEY_PEM.exec(text)?.[0];
  const certificatePem = CERTIFICATE_PEM.exec(text)?.[0];
  if (privatePem === undefined || certificatePem === undefined) {
    throw new Error(`registry signing key ${keyFile}: expected a PEM private key (PKCS#8 or EC, P-256) and its certificate; remove the file to have a new one made`);
  }
  let key: RegistrySigningKey;
  try {
    key = loadRegistrySigningKey(privatePem, certificatePem);
  } catch (error) {
    throw new Error(`registry signing key ${keyFile}: cannot be read (${(error as Error).message}); remove the file to have a new one made`);
  }
  const spki = (publicKey: KeyObject) => publicKey.export({ type: 'spki', format: 'der' });
  if (!spki(createPublicKey(key.privateKey)).equals(spki(publicKeyOfCertificate(certificatePem)))) {
    throw new Error(`registry signing key ${keyFile}: the certificate is not of the private key; remove the file to have a new one made`);
  }
  if ((await readIfExists(certificateFile)) !== certificatePem) await replaceFile(certificateFile, certificatePem, 0o644);
  return { ...key, keyFile, certificateFile };
}

async function createKeyFile(keyFile: string, cluster: string): Promise<string> {
  const { privatePem, certificatePem } = await createRegistrySigningKey(cluster);
  const text = `${privatePem}${certificatePem}`;
  await mkdir(path.dirname(keyFile), { recursive: true, mode: 0o700 });
  const temporary = temporaryName(keyFile);
  await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
  try {
    await link(temporary, keyFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another process made one first: use that one.
    return readFile(keyFile, 'utf8');
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  return text;
}

/** Writes `text` to `file` through a temporary file and a rename, so a reader never sees half of it. */
async function replaceFile(file: string, text: string, mode: number): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = temporaryName(file);
  await writeFile(temporary, text, { mode, flag: 'wx' });
  await chmod(temporary, mode); // writeFile's mode is masked by the umask
  await rename(temporary, file);
}

function temporaryName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
