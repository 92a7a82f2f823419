import 'reflect-metadata';
import { createHash, createPrivateKey, createPublicKey, KeyObject, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { SignJWT } from 'jose';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** distribution 2.8 checks ES256/RS256 tokens; we sign ES256 with a P-256 key. */
export const REGISTRY_TOKEN_ALGORITHM = 'ES256';
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A registry token signing key and the self-signed certificate the registry trusts (its `rootcertbundle`). */
export interface RegistrySigningKey {
  privateKey: KeyObject;
  /** PEM of the self-signed certificate of the public key. */
  certificatePem: string;
  /** libtrust key id of the public key: the JWT `kid` header distribution 2.8 looks the key up by. */
  keyId: string;
}

/** A new P-256 key pair with a self-signed certificate valid for ten years, for cluster `cluster`. */
export async function createRegistrySigningKey(cluster: string): Promise<{ privatePem: string; certificatePem: string }> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: createHash('sha256').update(`${cluster}:${now}`).digest('hex').slice(0, 16),
    name: `CN=infrabox registry token issuer ${cluster}`,
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 10 * 365 * 86_400_000),
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    signingAlgorithm: EC,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const privatePem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
  return { privatePem, certificatePem: certificate.toString('pem') };
}

/** Loads a stored key (PKCS#8 PEM) and certificate (PEM) for signing. */
export function loadRegistrySigningKey(privatePem: string, certificatePem: string): RegistrySigningKey {
  const certificate = new x509.X509Certificate(certificatePem);
  const spki = Buffer.from(certificate.publicKey.rawData);
  const privateKey = createPrivateKey(privatePem);
  return { privateKey, certificatePem, keyId: libtrustKeyId(spki) };
}

/**
 * libtrust's key id (what distribution 2.8 derives from each certificate of its rootcertbundle):
 * SHA-256 of the DER SubjectPublicKeyInfo, first 30 bytes, base32 without padding, in groups of
 * four joined by `:`.
 */
export function libtrustKeyId(spkiDer: Buffer): string {
  const hash = createHash('sha256').update(spkiDer).digest().subarray(0, 30);
  return base32(hash).match(/.{4}/g)!.join(':');
}

function base32(bytes: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/**
 * A registry bearer token (Docker registry token auth spec): `iss` the token service, `aud` the
 * registry's service name, `sub` the caller, `access` what it was granted; header `kid` as
 * distribution expects.
 */
export async function signRegistryToken(
  key: RegistrySigningKey,
  claims: { issuer: string; service: string; subject: string; access: Array<{ type: string; name: string; actions: string[] }>; ttlSeconds: number; now?: number },
): Promise<string> {
  const now = Math.floor((claims.now ?? Date.now()) / 1000);
  return new SignJWT({ access: claims.access })
    .setProtectedHeader({ alg: REGISTRY_TOKEN_ALGORITHM, typ: 'JWT', kid: key.keyId })
    .setIssuer(claims.issuer)
    .setAudience(claims.service)
    .setSubject(claims.subject)
    .setIssuedAt(now)
    .setNotBefore(now - 1)
    .setExpirationTime(now + claims.ttlSeconds)
    .setJti(createHash('sha256').update(`${claims.subject}:${now}:${Math.random()}`).digest('hex').slice(0, 24))
    .sign(key.privateKey);
}

/** The public key of a certificate PEM (for verifying our own tokens in tests and checks). */
export function publicKeyOfCertificate(certificatePem: string): KeyObject {
  return createPublicKey(certificatePem);
}
