import { ClusterKeyService, KeyRepository, TokenService } from '@infrabox/auth';
import { ClusterRepository } from '@infrabox/clusters';
import type { InstallConfig } from '@infrabox/config';
import { createPool, Database, embeddedPostgresUrl } from '@infrabox/database';
import { CliError } from '../cli-error';

/** Lifetime of a token from `infrabox admin token` unless told otherwise: one day. */
export const DEFAULT_ADMIN_TOKEN_TTL_SECONDS = 24 * 3600;
/** Lifetime of the admin token `infrabox up` writes to local.json: as long as its project token. */
export const LOCAL_ADMIN_TOKEN_TTL_SECONDS = 30 * 24 * 3600;
export const MAX_ADMIN_TOKEN_TTL_SECONDS = 10 * 365 * 24 * 3600;

/**
 * An admin token signed with the key of `config`'s cluster, read from (or, before any app ran,
 * created in) that cluster's database: holding the database is what makes one an admin. An
 * embedded database is joined, never started: it must be running (`infrabox up`).
 */
export async function mintAdminToken(config: InstallConfig, ttlSeconds: number, databaseUrl?: string): Promise<string> {
  const url = databaseUrl ?? (config.database.kind === 'postgres' ? config.database.url : embeddedPostgresUrl(config.database.port));
  const db = new Database(createPool(url, 1), url);
  try {
    const tokens = new TokenService(config, new ClusterKeyService(new KeyRepository(db), new ClusterRepository(db)), null);
    return await tokens.issueAdminToken(ttlSeconds);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const hint = config.database.kind === 'embedded' && databaseUrl === undefined ? ' (is `infrabox up` running?)' : '';
    throw new CliError(`cannot sign an admin token with the key of cluster '${config.cluster.name}': ${reason}${hint}`);
  } finally {
    await db.close();
  }
}
