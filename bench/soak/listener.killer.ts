import { Client } from 'pg';

/**
 * Every `intervalMs`, terminates one app's LISTEN connection, picked at random among the
 * backends whose application_name is `infrabox <app>@<cluster> listener` (libs/events sets it).
 * Keeps going through a database restart (it reconnects).
 */
export class ListenerKiller {
  private client: Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  terminated = 0;
  /** How often each listener (by application_name) was terminated. */
  readonly victims = new Map<string, number>();

  constructor(
    private readonly databaseUrl: string,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    while (this.busy) await new Promise((resolve) => setTimeout(resolve, 10));
    await this.client?.end().catch(() => undefined);
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      if (!this.client) {
        const client = new Client({ connectionString: this.databaseUrl, application_name: 'infrabox soak chaos', connectionTimeoutMillis: 2_000 });
        client.on('error', () => undefined);
        await client.connect();
        this.client = client;
      }
      const rows = (
        await this.client.query<{ name: string; done: boolean }>(
          `SELECT application_name AS name, pg_terminate_backend(pid) AS done
             FROM (SELECT pid, application_name FROM pg_stat_activity
                    WHERE application_name LIKE 'infrabox % listener' ORDER BY random() LIMIT 1) victim`,
        )
      ).rows;
      for (const row of rows.filter((r) => r.done)) {
        this.terminated++;
        this.victims.set(row.name, (this.victims.get(row.name) ?? 0) + 1);
      }
    } catch {
      // The server is restarting: connect again on the next tick.
      await this.client?.end().catch(() => undefined);
      this.client = null;
    } finally {
      this.busy = false;
    }
  }
}
