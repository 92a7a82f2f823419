import { Injectable } from '@nestjs/common';
import type { JWK } from 'jose';
import { Database } from '@infrabox/database';

/** The public key that verifies a cluster's tokens, as pinned. */
export interface PinnedClusterKey {
  cluster: string;
  publicJwk: JWK;
  pinnedAt: Date;
}

interface ClusterKeyRow {
  cluster: string;
  public_jwk: JWK;
  pinned_at: Date;
}

/**
 * SQL for `cluster_key`: each cluster's public token key, pinned at the cluster's first start.
 * The table refuses to replace or delete a pinned key outside {@link rotate} (a trigger).
 */
@Injectable()
export class KeyRepository {
  constructor(private readonly db: Database) {}

  /**
   * Pins `publicJwk` for `cluster` unless a key is pinned already, and returns the pinned key:
   * `publicJwk` or the one pinned before. Two statements on purpose: the INSERT waits for a
   * conflicting insert to commit, and only a statement started after that sees its row.
   */
  async pin(cluster: string, publicJwk: JWK): Promise<PinnedClusterKey> {
    await this.db.query(`INSERT INTO cluster_key (cluster, public_jwk) VALUES ($1, $2::jsonb) ON CONFLICT (cluster) DO NOTHING`, [
      cluster,
      JSON.stringify(publicJwk),
    ]);
    const [row] = await this.db.query<ClusterKeyRow>('SELECT cluster, public_jwk, pinned_at FROM cluster_key WHERE cluster = $1', [cluster]);
    if (!row) throw new Error(`cluster_key row of '${cluster}' vanished right after it was written`);
    return toPinnedKey(row);
  }

  /** Every pinned key: verifiers load them at once, so a token of an unknown issuer costs no query. */
  async findAll(): Promise<PinnedClusterKey[]> {
    const rows = await this.db.query<ClusterKeyRow>('SELECT cluster, public_jwk, pinned_at FROM cluster_key');
    return rows.map(toPinnedKey);
  }

  /** Replaces (or pins) the key of `cluster`: the one write the table's trigger lets through. */
  async rotate(cluster: string, publicJwk: JWK): Promise<PinnedClusterKey> {
    return this.db.transaction(async () => {
      await this.db.query(`SELECT set_config('infrabox.key_rotation', $1, true)`, [cluster]);
      const [row] = await this.db.query<ClusterKeyRow>(
        `INSERT INTO cluster_key (cluster, public_jwk) VALUES ($1, $2::jsonb)
         ON CONFLICT (cluster) DO UPDATE SET public_jwk = EXCLUDED.public_jwk, pinned_at = now()
         RETURNING cluster, public_jwk, pinned_at`,
        [cluster, JSON.stringify(publicJwk)],
      );
      return toPinnedKey(row);
    });
  }
}

function toPinnedKey(row: ClusterKeyRow): PinnedClusterKey {
  return { cluster: row.cluster, publicJwk: row.public_jwk, pinnedAt: row.pinned_at };
}
