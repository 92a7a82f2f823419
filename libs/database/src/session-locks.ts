import type { Client } from 'pg';
import { createLockSessionClient } from './lock-session.client';

export interface SessionLocksOptions {
  databaseUrl: string;
  /** Shows in `pg_stat_activity.application_name`. */
  applicationName: string;
  /** Told when a held lock could not be taken back after the session was lost (another process has it now). */
  onLost?: (key: bigint) => void;
}

/**
 * Many PostgreSQL session advisory locks held by one process on one dedicated connection: a
 * claim on a piece of work that lasts while the process lives (they all end with its session
 * when it dies, so another process may take the work over), without holding a transaction open.
 *
 * Should the session end while the process lives (terminated, server restart), the held locks
 * are taken again on a new session; one that could not be taken back (another process has it, or
 * the server is away) is reported to `onLost`.
 */
export class SessionLocks {
  private client: Client | null = null;
  private connecting: Promise<Client> | null = null;
  private readonly held = new Set<bigint>();
  private closed = false;

  constructor(private readonly options: SessionLocksOptions) {}

  get heldCount(): number {
    return this.held.size;
  }

  /** True when this process now holds `key` (it never holds it twice). */
  async tryLock(key: bigint): Promise<boolean> {
    if (this.held.has(key)) return false;
    const client = await this.session();
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [String(key)]);
    if (rows[0].locked) this.held.add(key);
    return rows[0].locked;
  }

  async unlock(key: bigint): Promise<void> {
    if (!this.held.delete(key)) return;
    const client = this.client;
    // A lost session released it already.
    if (client) await client.query('SELECT pg_advisory_unlock($1::bigint)', [String(key)]).catch(() => undefined);
  }

  /** Ends the session: every lock is released. */
  async close(): Promise<void> {
    this.closed = true;
    this.held.clear();
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private session(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    if (this.closed) return Promise.reject(new Error('session locks are closed'));
    this.connecting ??= this.connect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async connect(): Promise<Client> {
    const client = createLockSessionClient(this.options, (lost) => void this.lost(lost));
    await client.connect();
    this.client = client;
    return client;
  }

  private async lost(client: Client): Promise<void> {
    if (client !== this.client) return;
    this.client = null;
    await client.end().catch(() => undefined);
    if (this.closed || this.held.size === 0) return;
    try {
      const fresh = await this.session();
      for (const key of [...this.held]) {
        const { rows } = await fresh.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [String(key)]);
        if (!rows[0].locked && this.held.delete(key)) this.options.onLost?.(key);
      }
    } catch {
      // The server is away: once it is back another process may lock any of them first.
      for (const key of [...this.held]) if (this.held.delete(key)) this.options.onLost?.(key);
    }
  }
}
