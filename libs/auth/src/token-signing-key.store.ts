import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { createOnce, readIfExists } from './key-file';

/** A cluster's token signing key as its key file holds it. */
export interface TokenSigningKey {
  keyFile: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public half as published: `{ kty: 'OKP', crv: 'Ed25519', x }`. */
  publicJwk: JWK;
}

/**
 * The token signing key in `keyFile`: a PKCS#8 PEM Ed25519 private key (as `openssl genpkey
 * -algorithm ed25519` and Helm's `genPrivateKey "ed25519"` write it), made once with mode 600
 * when missing. Every app of a cluster reads the same file; the first to start makes it
 * ({@link createOnce}). The private key never goes into the database.
 */
export async function ensureTokenSigningKey(keyFile: string): Promise<TokenSigningKey> {
  const text = (await readIfExists(keyFile)) ?? (await createOnce(keyFile, newPrivateKeyPem()));
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(text);
  } catch (error) {
    throw new Error(`token signing key ${keyFile}: cannot be read (${(error as Error).message}); expected an Ed25519 private key in PEM`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(`token signing key ${keyFile}: expected an Ed25519 private key, got ${privateKey.asymmetricKeyType ?? 'another kind'}`);
  }
  const publicKey = createPublicKey(privateKey);
  const { crv, x } = publicKey.export({ format: 'jwk' });
  return { keyFile, privateKey, publicKey, publicJwk: { kty: 'OKP', crv, x } };
}

export function newPrivateKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}
