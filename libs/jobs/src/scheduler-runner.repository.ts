import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';

/** A scheduler process that runs jobs, as recorded in `scheduler_runner`. */
export interface SchedulerRunner {
  id: string;
  cluster: string;
  pid: number;
  hostname: string;
  leaseMs: number;
  heartbeatAt: Date;
}

interface RunnerRow {
  id: string;
  cluster_name: string;
  pid: number;
  hostname: string;
  lease_ms: number;
  heartbeat_at: Date;
}

/** SQL for `scheduler_runner`: the live scheduler processes (runners) and their heartbeats. */
@Injectable()
export class SchedulerRunnerRepository {
  constructor(private readonly db: Database) {}

  /** Records a runner, or refreshes its heartbeat when the row is already there. */
  async register(runner: Omit<SchedulerRunner, 'heartbeatAt'>): Promise<void> {
    await this.db.query(
      `INSERT INTO scheduler_runner (id, cluster_name, pid, hostname, lease_ms) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`,
      [runner.id, runner.cluster, runner.pid, runner.hostname, runner.leaseMs],
    );
  }

  /** Refreshes the heartbeat; false when the row is gone (the runner was declared dead meanwhile). */
  async heartbeat(id: string): Promise<boolean> {
    const rows = await this.db.query(`UPDATE scheduler_runner SET heartbeat_at = now() WHERE id = $1 RETURNING id`, [id], 'runner_heartbeat');
    return rows.length > 0;
  }

  async remove(id: string): Promise<void> {
    await this.db.query(`DELETE FROM scheduler_runner WHERE id = $1`, [id]);
  }

  /**
   * Deletes and returns the dead runners of `cluster` and of clusters reported lost: those whose
   * heartbeat is older than their own lease. Never right after a server restart (every heartbeat
   * looks old then): the server must have been up for a lease too. Rows are locked (SKIP LOCKED),
   * so two callers never get the same runner; call it inside the transaction that ends its jobs.
   */
  async takeDead(cluster: string): Promise<SchedulerRunner[]> {
    const rows = await this.db.query<RunnerRow>(
      `DELETE FROM scheduler_runner
        WHERE id IN (
          SELECT r.id FROM scheduler_runner r
           WHERE (r.cluster_name = $1 OR r.cluster_name IN (SELECT name FROM cluster WHERE NOT active))
             AND r.heartbeat_at < now() - make_interval(secs => r.lease_ms / 1000.0)
             AND pg_postmaster_start_time() < now() - make_interval(secs => r.lease_ms / 1000.0)
           FOR UPDATE SKIP LOCKED)
        RETURNING id, cluster_name, pid, hostname, lease_ms, heartbeat_at`,
      [cluster],
    );
    return rows.map((r) => ({ id: r.id, cluster: r.cluster_name, pid: r.pid, hostname: r.hostname, leaseMs: r.lease_ms, heartbeatAt: r.heartbeat_at }));
  }
}
