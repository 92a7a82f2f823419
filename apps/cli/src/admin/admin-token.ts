import { rename } from 'node:fs/promises';
import { createPublicKey } from 'node:crypto';
import { ClusterKeyService, createKeyFileOnce, KeyRepository, newPrivateKeyPem, TokenFactsRepository, TokenService } from '@infrabox/auth';
import { authOf, currentClusterOf, type InstallConfig } from '@infrabox/config';
import { createPool, Database, embeddedPostgresUrl } from '@infrabox/database';
import { CliError } from '../cli-error';

/** Lifetime of a token from `infrabox admin token` unless told otherwise: one day. */
export const DEFAULT_ADMIN_TOKEN_TTL_SECONDS = 24 * 3600;
/** Lifetime of the admin token `infrabox up` writes to local.json: as long as its project token. */
export const LOCAL_ADMIN_TOKEN_TTL_SECONDS = 30 * 24 * 3600;
export const MAX_ADMIN_TOKEN_TTL_SECONDS = 10 * 365 * 24 * 3600;

/**
 * An admin token signed with the master's key file (`auth.signing_key` of `config`, which must be
 * the master's), checked against the key pinned in the database: holding the master's key file
 * is what makes one an admin. An embedded database is joined, never started: it must be running
 * (`infrabox up`).
 */
export async function mintAdminToken(config: InstallConfig, ttlSeconds: number, databaseUrl?: string): Promise<string> {
  if (!config.cluster.isMaster) {
    throw new CliError(`admin tokens are issued by the master cluster only; give the master's config (this one is of cluster '${config.cluster.name}')`);
  }
  return withDatabase(config, databaseUrl, 'cannot sign an admin token', async (db) => {
    const keys = new KeyRepository(db);
    const cluster = currentClusterOf(config);
    return new TokenService(cluster, new ClusterKeyService(config, cluster, keys), new TokenFactsRepository(db), null).issueAdminToken(ttlSeconds);
  });
}

/**
 * Replaces the token signing key of `config`'s cluster: a new key pinned in the database (the one
 * write the pin lets through), then written to the key file, the old file kept beside it. The
 * cluster's apps keep signing with the old key until they restart; their tokens are refused
 * from now on.
 */
export async function rotateKey(config: InstallConfig, databaseUrl?: string): Promise<{ keyFile: string; retired: string }> {
  const keyFile = authOf(config).signingKey;
  const pem = newPrivateKeyPem();
  const { crv, x } = createPublicKey(pem).export({ format: 'jwk' });
  await withDatabase(config, databaseUrl, 'cannot rotate the token signing key', (db) => new KeyRepository(db).rotate(config.cluster.name, { kty: 'OKP', crv, x }));
  const retired = `${keyFile}.${new Date().toISOString().replace(/[:.]/g, '-')}.retired`;
  await rename(keyFile, retired).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await createKeyFileOnce(keyFile, pem);
  return { keyFile, retired };
}

async function withDatabase<T>(config: InstallConfig, databaseUrl: string | undefined, what: string, work: (db: Database) => Promise<T>): Promise<T> {
  const url = databaseUrl ?? (config.database.kind === 'postgres' ? config.database.url : embeddedPostgresUrl(config.database.port));
  const db = new Database(createPool(url, 1), url);
  try {
    return await work(db);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const hint = config.database.kind === 'embedded' && databaseUrl === undefined ? ' (is `infrabox up` running?)' : '';
    throw new CliError(`${what} of cluster '${config.cluster.name}': ${reason}${hint}`);
  } finally {
    await db.close();
  }
}
