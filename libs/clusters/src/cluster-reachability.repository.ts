import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { ClusterReachability, ProbeResult } from './cluster.types';

/** Every statement returns rows as `ClusterReachability`s, named in SQL. */
const COLUMNS = 'from_cluster AS "from", to_cluster AS "to", reachable, rtt_ms AS "rttMs", error, checked_at AS "checkedAt"';

/** SQL for `cluster_reachability`: the last probe result per (from, to) pair. */
@Injectable()
export class ClusterReachabilityRepository {
  constructor(private readonly db: Database) {}

  async record(probe: ProbeResult): Promise<ClusterReachability> {
    const [row] = await this.db.query<ClusterReachability>(
      `INSERT INTO cluster_reachability (from_cluster, to_cluster, reachable, rtt_ms, error, checked_at)
       VALUES ($1, $2, $3, $4, $5, now())
       ON CONFLICT (from_cluster, to_cluster) DO UPDATE
         SET reachable = EXCLUDED.reachable, rtt_ms = EXCLUDED.rtt_ms, error = EXCLUDED.error, checked_at = EXCLUDED.checked_at
       RETURNING ${COLUMNS}`,
      [probe.from, probe.to, probe.reachable, probe.rttMs, probe.error],
    );
    return row;
  }

  /** The whole matrix, ordered by from and to. */
  async findAll(): Promise<ClusterReachability[]> {
    return this.db.query<ClusterReachability>(`SELECT ${COLUMNS} FROM cluster_reachability ORDER BY from_cluster, to_cluster`);
  }

  /**
   * Only the pairs last probed unreachable. Placement treats every other pair as reachable, so
   * this is all it needs — a handful of rows instead of the whole n² matrix.
   */
  async findUnreachable(): Promise<Array<{ from: string; to: string }>> {
    return this.db.query<{ from: string; to: string }>(
      `SELECT from_cluster AS "from", to_cluster AS "to" FROM cluster_reachability WHERE NOT reachable`,
    );
  }

  async find(from: string, to: string): Promise<ClusterReachability | null> {
    const [row] = await this.db.query<ClusterReachability>(
      `SELECT ${COLUMNS} FROM cluster_reachability WHERE from_cluster = $1 AND to_cluster = $2`,
      [from, to],
    );
    return row ?? null;
  }
}
