import { createPublicKey, type KeyObject } from 'node:crypto';
import { createOnce, readIfExists, replaceFile } from './key-file';
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
 * starts the registry) call this; whichever comes first creates the key, the other reads it
 * ({@link createOnce}). The key never goes into the database.
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
  return createOnce(keyFile, `${privatePem}${certificatePem}`);
}
