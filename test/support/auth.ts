import { generateKeyPair, JWTPayload, KeyLike, SignJWT } from 'jose';
import { AuthOptions, ClusterKeyService, KeyRepository, TokenService } from '@infrabox/auth';
import { ClusterRepository } from '@infrabox/clusters';
import { createPool, Database } from '@infrabox/database';
import { clusterConfig } from './clusters';
import { databaseUrl } from './database';

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

/** An admin token signed with cluster `cluster`'s key, as `infrabox admin token` mints it (database: the tests' unless told). */
export async function adminTokenFor(cluster: string, url: string = databaseUrl(), ttlSeconds = 3600): Promise<string> {
  const db = new Database(createPool(url, 1), url);
  try {
    return await tokenServiceFor(db, cluster).issueAdminToken(ttlSeconds);
  } finally {
    await db.close();
  }
}
