import type { Client } from 'pg';
import { createLockSessionClient } from './lock-session.client';

export interface LeaderLockOptions {
  databaseUrl: string;
  /** The advisory lock key: one per kind of leadership, the same in every process of the installation. */
  key: bigint | number;
  /** Shows in `pg_stat_activity.application_name`, to find the leader's session. */
  applicationName: string;
}

/**
 * Leadership of one periodic duty across every process of an installation, held as a
 * PostgreSQL session advisory lock on a dedicated connection (not the pool: a pooled connection
 * would carry the lock to whoever borrows it next).
 *
 * `tryLead()` is called on every tick: it keeps the lead while the session is alive and tries
 * to take it otherwise. When the leader dies its session ends, the server releases the lock,
 * and another process takes over at its next tick.

 */
export class LeaderLock {
  private client: Client | null = null;
  private leading = false;

  constructor(private readonly options: LeaderLockOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /** True when this process leads (now or from before). Never throws: a broken connection means "not leading". */
  async tryLead(): Promise<boolean> {
    try {
      const client = this.client ?? (await this.connect());
      if (this.leading) {
        // A session lock lasts as long as the session: if the session answers, the lock is ours.
        await client.query('SELECT 1');
      } else {
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [
          String(this.options.key),
        ]);
        this.leading = rows[0].locked;
      }
    } catch {
      await this.drop();
    }
    return this.leading;
  }

  /** Gives up the lead (if held) by ending the session. */
  async release(): Promise<void> {
    await this.drop();
  }

  private async connect(): Promise<Client> {
    const client = createLockSessionClient(this.options, (lost) => void this.drop(lost));
    this.client = client;
    try {
      await client.connect();
    } catch (error) {
      await this.drop(client);
      throw error;
    }
    return client;
  }

  private async drop(client: Client | null = this.client): Promise<void> {
    if (!client || client !== this.client) return;
    this.client = null;
    this.leading = false;
    await client.end().catch(() => undefined);
  }
}
