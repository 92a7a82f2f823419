import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { Cluster, ClusterRegistration, RegistrationResult } from './cluster.types';

/** Every statement returns rows as `Cluster`s, named in SQL; the age is measured by the database clock. */
const COLUMNS = `name, labels, api_url AS "apiUrl", registry_url AS "registryUrl", enabled, active, capacity, projects,
  registered_at AS "registeredAt", last_heartbeat_at AS "lastHeartbeatAt",
  greatest(0, extract(epoch FROM now() - last_heartbeat_at))::float8 AS "heartbeatAgeSeconds"`;

/** SQL for the `cluster` table. All times come from the database, never from a host's clock. */
@Injectable()
export class ClusterRepository {
  constructor(private readonly db: Database) {}

  async findAll(): Promise<Cluster[]> {
    return this.db.query<Cluster>(`SELECT ${COLUMNS} FROM cluster ORDER BY name`);
  }

  async findByName(name: string): Promise<Cluster | null> {
    const [row] = await this.db.query<Cluster>(`SELECT ${COLUMNS} FROM cluster WHERE name = $1`, [name]);
    return row ?? null;
  }

  /**
   * Creates or updates a cluster's row from its config, makes it active and refreshes its
   * heartbeat; `enabled` (an admin's decision) is left alone. Returns the row before and after,
   * read under a row lock, so concurrent registrations of one cluster see each other's result.
   */
  async register(cluster: ClusterRegistration): Promise<RegistrationResult> {
    return this.db.transaction(async () => {
      const withCapacity = cluster.capacity !== undefined;
      const [created] = await this.db.query<Cluster>(
        `INSERT INTO cluster (name, labels, api_url, registry_url, projects${withCapacity ? ', capacity' : ''})
         VALUES ($1, $2, $3, $4, $5${withCapacity ? ', $6' : ''})
         ON CONFLICT (name) DO NOTHING
         RETURNING ${COLUMNS}`,
        [cluster.name, cluster.labels, cluster.apiUrl, cluster.registryUrl ?? null, cluster.projects ?? null, ...(withCapacity ? [cluster.capacity] : [])],
      );
      if (created) return { previous: null, current: created };

      // ON CONFLICT waited for a concurrent insert to commit, so the row is visible here.
      const [previous] = await this.db.query<Cluster>(`SELECT ${COLUMNS} FROM cluster WHERE name = $1 FOR UPDATE`, [
        cluster.name,
      ]);
      const [current] = await this.db.query<Cluster>(
        `UPDATE cluster
            SET labels = $2, api_url = $3, registry_url = $5, projects = $6, capacity = coalesce($4, capacity), active = true, last_heartbeat_at = now()
          WHERE name = $1
          RETURNING ${COLUMNS}`,
        [cluster.name, cluster.labels, cluster.apiUrl, cluster.capacity ?? null, cluster.registryUrl ?? null, cluster.projects ?? null],
      );
      return { previous: previous, current: current };
    });
  }

  /** Refreshes the heartbeat of an active cluster; null when the cluster is inactive or unknown. */
  async heartbeat(name: string): Promise<Cluster | null> {
    const [row] = await this.db.query<Cluster>(
      `UPDATE cluster SET last_heartbeat_at = now() WHERE name = $1 AND active RETURNING ${COLUMNS}`,
      [name],
    );
    return row ?? null;
  }

  /**
   * Makes an inactive cluster active again (and refreshes its heartbeat). Returns the row only
   * to the one caller that made the change; null when it was active already or is unknown.
   */
  async markActive(name: string): Promise<Cluster | null> {
    const [row] = await this.db.query<Cluster>(
      `UPDATE cluster SET active = true, last_heartbeat_at = now() WHERE name = $1 AND NOT active RETURNING ${COLUMNS}`,
      [name],
    );
    return row ?? null;
  }

  /**
   * Marks inactive every active cluster whose heartbeat is older than `timeoutMs` and returns
   * them. One UPDATE: a concurrent caller blocks on the same rows, re-checks `active` once they
   * commit and skips them, so each loss is returned to exactly one caller.
   */
  async markLost(timeoutMs: number): Promise<Cluster[]> {
    return this.db.query<Cluster>(
      `UPDATE cluster SET active = false
        WHERE active AND last_heartbeat_at < now() - $1::float8 * interval '1 millisecond'
        RETURNING ${COLUMNS}`,
      [timeoutMs],
    );
  }

  /**
   * Sets `enabled`. Returns null for an unknown cluster; otherwise the row and whether this
   * call changed it (only the caller that flipped the value sees `changed: true`).
   */
  async setEnabled(name: string, enabled: boolean): Promise<{ cluster: Cluster; changed: boolean } | null> {
    const [updated] = await this.db.query<Cluster>(
      `UPDATE cluster SET enabled = $2 WHERE name = $1 AND enabled <> $2 RETURNING ${COLUMNS}`,
      [name, enabled],
    );
    if (updated) return { cluster: updated, changed: true };
    const unchanged = await this.findByName(name);
    return unchanged ? { cluster: unchanged, changed: false } : null;
  }
}
