import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { ClusterReachability, ProbeResult } from './cluster.types';

interface ReachabilityRow {
  from_cluster: string;
  to_cluster: string;
  reachable: boolean;
  rtt_ms: number | null;
  error: string | null;
  checked_at: Date;
}

const COLUMNS = 'from_cluster, to_cluster, reachable, rtt_ms, error, checked_at';

/** SQL for `cluster_reachability`: the last probe result per (from, to) pair. */
@Injectable()
export class ClusterReachabilityRepository {
  constructor(private readonly db: Database) {}

  async record(probe: ProbeResult): Promise<ClusterReachability> {
    const [row] = await this.db.query<ReachabilityRow>(
      `INSERT INTO cluster_reachability (from_cluster, to_cluster, reachable, rtt_ms, error, checked_at)
       VALUES ($1, $2, $3, $4, $5, now())
       ON CONFLICT (from_cluster, to_cluster) DO UPDATE
         SET reachable = EXCLUDED.reachable, rtt_ms = EXCLUDED.rtt_ms, error = EXCLUDED.error, checked_at = EXCLUDED.checked_at
       RETURNING ${COLUMNS}`,
      [probe.from, probe.to, probe.reachable, probe.rttMs, probe.error],
    );
    return toReachability(row);
  }

  /** The whole matrix, ordered by from and to. */
  async findAll(): Promise<ClusterReachability[]> {
    const rows = await this.db.query<ReachabilityRow>(
      `SELECT ${COLUMNS} FROM cluster_reachability ORDER BY from_cluster, to_cluster`,
    );
    return rows.map(toReachability);
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
    const [row] = await this.db.query<ReachabilityRow>(
      `SELECT ${COLUMNS} FROM cluster_reachability WHERE from_cluster = $1 AND to_cluster = $2`,
      [from, to],
    );
    return row ? toReachability(row) : null;
  }
}

function toReachability(row: ReachabilityRow): ClusterReachability {
  return {
    from: row.from_cluster,
    to: row.to_cluster,
    reachable: row.reachable,
    rttMs: row.rtt_ms,
    error: row.error,
    checkedAt: row.checked_at,
  };
}
