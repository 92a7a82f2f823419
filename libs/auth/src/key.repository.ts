import { Injectable } from '@nestjs/common';
import type { JWK } from 'jose';
import { Database } from '@infrabox/database';

/** A cluster's signing key pair as stored. */
export interface StoredClusterKey {
  cluster: string;
  privateJwk: JWK;
  publicJwk: JWK;
  createdAt: Date;
}

interface ClusterKeyRow {
  cluster: string;
  private_jwk: JWK;
  public_jwk: JWK;
  created_at: Date;
}

const COLUMNS = 'cluster, private_jwk, public_jwk, created_at';

/**
 * SQL for `cluster_key`: each cluster's token signing key pair, shared by every app (process)
 * of that cluster and kept across restarts. Production would keep the private key in a
 * Kubernetes Secret mounted into each app; the table keeps a local run simple.
 */
@Injectable()
export class KeyRepository {
  constructor(private readonly db: Database) {}

  async find(cluster: string): Promise<StoredClusterKey | null> {
    const [row] = await this.db.query<ClusterKeyRow>(`SELECT ${COLUMNS} FROM cluster_key WHERE cluster = $1`, [cluster]);
    return row ? toStoredKey(row) : null;
  }

  /**
   * Stores `pair` unless the cluster has a key already, and returns the key that is stored:
   * `pair` or the one a concurrent first start stored before it — so they all agree. Two
   * statements on purpose: the INSERT waits for a conflicting insert to commit, and only a
   * statement started after that sees its row.
   */
  async insertIfMissing(cluster: string, pair: { privateJwk: JWK; publicJwk: JWK }): Promise<StoredClusterKey> {
    await this.db.query(
      `INSERT INTO cluster_key (cluster, private_jwk, public_jwk) VALUES ($1, $2::jsonb, $3::jsonb)
       ON CONFLICT (cluster) DO NOTHING`,
      [cluster, JSON.stringify(pair.privateJwk), JSON.stringify(pair.publicJwk)],
    );
    const stored = await this.find(cluster);
    if (!stored) throw new Error(`cluster_key row of '${cluster}' vanished right after it was written`);
    return stored;
  }

  async findPublicJwk(cluster: string): Promise<JWK | null> {
    const [row] = await this.db.query<{ public_jwk: JWK }>('SELECT public_jwk FROM cluster_key WHERE cluster = $1', [cluster]);
    return row?.public_jwk ?? null;
  }
}

function toStoredKey(row: ClusterKeyRow): StoredClusterKey {
  return { cluster: row.cluster, privateJwk: row.private_jwk, publicJwk: row.public_jwk, createdAt: row.created_at };
}
