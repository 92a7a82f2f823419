import { generateKeyPair, JWTPayload, KeyLike, SignJWT } from 'jose';
import { AuthOptions, ClusterKeyService, KeyRepository, TokenService } from '@infrabox/auth';
import { ClusterRepository } from '@infrabox/clusters';
import { Database } from '@infrabox/database';
import { clusterConfig } from './clusters';

/** A TokenService of cluster `cluster` on `db`, as one app of that cluster would have it. */
export function tokenServiceFor(db: Database, cluster: string, options?: AuthOptions): TokenService {
  return new TokenService(clusterConfig(cluster), new ClusterKeyService(new KeyRepository(db), new ClusterRepository(db)), options ?? null);
}

/** The private key cluster `cluster` signs with (loaded or created as its apps do). */
export async function signingKeyOf(db: Database, cluster: string): Promise<KeyLike> {
  return (await new ClusterKeyService(new KeyRepository(db), new ClusterRepository(db)).signingKey(cluster)).privateKey;
}

/** An Ed25519 key pair no cluster has. */
export async function strayKey(): Promise<{ privateKey: KeyLike; publicKey: KeyLike }> {
  return generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
}

/** A JWT with exactly these claims, signed with `key` (EdDSA unless told) — for forging tokens. */
export async function signRaw(payload: JWTPayload, key: KeyLike | Uint8Array, alg = 'EdDSA'): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);
