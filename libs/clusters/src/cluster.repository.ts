import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { Cluster, ClusterRegistration, RegistrationResult } from './cluster.types';

interface ClusterRow {
  name: string;
  labels: string[];
  api_url: string;
  registry_url: string | null;
  enabled: boolean;
  active: boolean;
  capacity: number;
  projects: string[] | null;
  registered_at: Date;
  last_heartbeat_at: Date;
  heartbeat_age_seconds: number;
}

/** Every statement returns rows in this shape; the age is measured by the database clock. */
const COLUMNS = `name, labels, api_url, registry_url, enabled, active, capacity, projects, registered_at, last_heartbeat_at,
  greatest(0, extract(epoch FROM now() - last_heartbeat_at))::float8 AS heartbeat_age_seconds`;

/** SQL for the `cluster` table. All times come from the database, never from a host's clock. */
@Injectable()
export class ClusterRepository {
  constructor(private readonly db: Database) {}

  async findAll(): Promise<Cluster[]> {
    const rows = await this.db.query<ClusterRow>(`SELECT ${COLUMNS} FROM cluster ORDER BY name`);
    return rows.map(toCluster);
  }

  async findByName(name: string): Promise<Cluster | null> {
    const [row] = await this.db.query<ClusterRow>(`SELECT ${COLUMNS} FROM cluster WHERE name = $1`, [name]);
    return row ? toCluster(row) : null;
  }

  /**
   * Creates or updates a cluster's row from its config, makes it active and refreshes its
   * heartbeat; `enabled` (an admin's decision) is left alone. Returns the row before and after,
   * read under a row lock, so concurrent registrations of one cluster see each other's result.
   */
  async register(cluster: ClusterRegistration): Promise<RegistrationResult> {
    return this.db.transaction(async () => {
      const withCapacity = cluster.capacity !== undefined;
      const [created] = await this.db.query<ClusterRow>(
        `INSERT INTO cluster (name, labels, api_url, registry_url, projects${withCapacity ? ', capacity' : ''})
         VALUES ($1, $2, $3, $4, $5${withCapacity ? ', $6' : ''})
         ON CONFLICT (name) DO NOTHING
         RETURNING ${COLUMNS}`,
        [cluster.name, cluster.labels, cluster.apiUrl, cluster.registryUrl ?? null, cluster.projects ?? null, ...(withCapacity ? [cluster.capacity] : [])],
      );
      if (created) return { previous: null, current: toCluster(created) };

      // ON CONFLICT waited for a concurrent insert to commit, so the row is visible here.
      const [previous] = await this.db.query<ClusterRow>(`SELECT ${COLUMNS} FROM cluster WHERE name = $1 FOR UPDATE`, [
        cluster.name,
      ]);
      const [current] = await this.db.query<ClusterRow>(
        `UPDATE cluster
            SET labels = $2, api_url = $3, registry_url = $5, projects = $6, capacity = coalesce($4, capacity), active = true, last_heartbeat_at = now()
          WHERE name = $1
          RETURNING ${COLUMNS}`,
        [cluster.name, cluster.labels, cluster.apiUrl, cluster.capacity ?? null, cluster.registryUrl ?? null, cluster.projects ?? null],
      );
      return { previous: toCluster(previous), current: toCluster(current) };
    });
  }

  /** Refreshes the heartbeat of an active cluster; null when the cluster is inactive or unknown. */
  async heartbeat(name: string): Promise<Cluster | null> {
    const [row] = await this.db.query<ClusterRow>(
      `UPDATE cluster SET last_heartbeat_at = now() WHERE name = $1 AND active RETURNING ${COLUMNS}`,
      [name],
    );
    return row ? toCluster(row) : null;
  }

  /**
   * Makes an inactive cluster active again (and refreshes its heartbeat). Returns the row only
   * to the one caller that made the change; null when it was active already or is unknown.
   */
  async markActive(name: string): Promise<Cluster | null> {
    const [row] = await this.db.query<ClusterRow>(
      `UPDATE cluster SET active = true, last_heartbeat_at = now() WHERE name = $1 AND NOT active RETURNING ${COLUMNS}`,
      [name],
    );
    return row ? toCluster(row) : null;
  }

  /**
   * Marks inactive every active cluster whose heartbeat is older than `timeoutMs` and returns
   * them. One UPDATE: a concurrent caller blocks on the same rows, re-checks `active` once they
   * commit and skips them, so each loss is returned to exactly one caller.
   */
  async markLost(timeoutMs: number): Promise<Cluster[]> {
    const rows = await this.db.query<ClusterRow>(
      `UPDATE cluster SET active = false
        WHERE active AND last_heartbeat_at < now() - $1::float8 * interval '1 millisecond'
        RETURNING ${COLUMNS}`,
      [timeoutMs],
    );
    return rows.map(toCluster);
  }

  /**
   * Sets `enabled`. Returns null for an unknown cluster; otherwise the row and whether this
   * call changed it (only the caller that flipped the value sees `changed: true`).
   */
  async setEnabled(name: string, enabled: boolean): Promise<{ cluster: Cluster; changed: boolean } | null> {
    const [updated] = await this.db.query<ClusterRow>(
      `UPDATE cluster SET enabled = $2 WHERE name = $1 AND enabled <> $2 RETURNING ${COLUMNS}`,
      [name, enabled],
    );
    if (updated) return { cluster: toCluster(updated), changed: true };
    const unchanged = await this.findByName(name);
    return unchanged ? { cluster: unchanged, changed: false } : null;
  }
}

function toCluster(row: ClusterRow): Cluster {
  return {
    name: row.name,
    labels: row.labels,
    apiUrl: row.api_url,
    registryUrl: row.registry_url,
    enabled: row.enabled,
    active: row.active,
    capacity: row.capacity,
    projects: row.projects,
    registeredAt: row.registered_at,
    lastHeartbeatAt: row.last_heartbeat_at,
    heartbeatAgeSeconds: row.heartbeat_age_seconds,
  };
}
