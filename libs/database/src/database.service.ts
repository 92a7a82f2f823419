import { AsyncLocalStorage } from 'node:async_hooks';
import { Pool, PoolClient, QueryResultRow } from 'pg';

type Queryable = Pick<PoolClient, 'query'>;

/**
 * The open transactions of the current async context, by Database. One storage for every
 * instance, not one each: Node runs every enabled AsyncLocalStorage's hook on each promise it
 * creates, so a process holding many Databases (bench:scale hosts 25 simulated clusters per
 * process) would pay for all of them on every await.
 */
const openTransactions = new AsyncLocalStorage<ReadonlyMap<Database, OpenTransaction>>();

/**
 * `open` turns false once the transaction's work has returned: a callback created inside it
 * that runs later (a timer, an event listener, a child process's exit) still carries this
 * context, and must then go to the pool, not to a connection that has been handed back (and
 * may since serve another transaction, or be dead after a server restart).
 */
interface OpenTransaction {
  readonly client: PoolClient;
  open: boolean;
}

/** The Database whose read lane the current async context is in (see `inReadLane`). */
const readLanes = new AsyncLocalStorage<Database>();

/**
 * The one door to PostgreSQL. Repositories call `query()`; services wrap several repository
 * calls in `transaction()`. Inside a transaction every `query()` on this object — from any
 * repository or from the event emitter — runs on the transaction's connection, found through
 * AsyncLocalStorage, so an event row commits or rolls back with the state change it announces.
 */
export class Database {
  /**
   * `readPool`: the connections of the read lane (`inReadLane`); without one, reads share `pool`.
   */
  /**
   * `url`: a direct connection, for what needs a session of its own (LISTEN, session advisory
   * locks), never a transaction pooler's, which the pools may be behind
   * (`preparedStatements: false` then: a named statement lives on one server connection, and the
   * pooler hands each transaction whichever one is free).
   */
  constructor(
    readonly pool: Pool,
    readonly url: string,
    private readonly readPool?: Pool,
    private readonly options: { preparedStatements?: boolean } = {},
  ) {}

  /**
   * Runs `work` in the read lane: its queries outside a transaction go to the read pool, so that
   * however many dashboard reads, console pages and event streams wait for a connection, uploads,
   * transfers and the scheduling writes on `pool` do not queue behind them.
   */
  inReadLane<T>(work: () => T): T {
    return this.readPool ? readLanes.run(this, work) : work();
  }

  /**
   * `name` makes it a prepared statement (parsed and planned once per connection): worth it for
   * the few statements on a hot path, such as writing an event.
   */
  async query<T extends QueryResultRow = QueryResultRow>(sql: string, params: unknown[] = [], name?: string): Promise<T[]> {
    const target: Queryable = this.transactionClient ?? (this.readPool !== undefined && readLanes.getStore() === this ? this.readPool : this.pool);
    const result = await target.query<T>({ text: sql, values: params, name: this.options.preparedStatements === false ? undefined : name });
    return result.rows;
  }

  /** Runs `work` in one transaction; nested calls join the outer transaction. */
  async transaction<T>(work: () => Promise<T>): Promise<T> {
    if (this.transactionClient) return work();
    const client = await this.pool.connect();
    // While checked out, a client has no listener of the pool's: a connection lost between two
    // statements (server restart, pg_terminate_backend) would emit an unhandled 'error' and
    // crash the process. Note it instead; the next statement fails and the transaction with it.
    let lost: Error | undefined;
    const onError = (error: Error) => {
      lost = error;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const transaction: OpenTransaction = { client, open: true };
      const result = await openTransactions.run(new Map(openTransactions.getStore()).set(this, transaction), work).finally(() => {
        transaction.open = false;
      });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        lost ??= rollbackError;
      });
      throw error;
    } finally {
      client.off('error', onError);
      // A broken client is destroyed, never handed to the next caller.
      client.release(lost);
    }
  }

  /**
   * Takes a transaction-level advisory lock if no other transaction holds it; it is released
   * when the transaction ends. Only inside `transaction()`: on a pooled connection outside one
   * it would be released at once.
   */
  async tryTransactionLock(key: bigint | number): Promise<boolean> {
    if (!this.inTransaction) throw new Error('tryTransactionLock: must run inside transaction()');
    const [row] = await this.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1::bigint) AS locked', [String(key)]);
    return row.locked;
  }

  get inTransaction(): boolean {
    return this.transactionClient !== undefined;
  }

  private get transactionClient(): PoolClient | undefined {
    const transaction = openTransactions.getStore()?.get(this);
    return transaction?.open ? transaction.client : undefined;
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.end(), this.readPool?.end()]);
  }
}

/** Connections of an app's read lane (Database.inReadLane), beside the main pool's 5. */
export const READ_POOL_SIZE = 3;

/** The longest a statement of the apps may run: one slow query cannot hold a connection for ever. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 60_000;

export interface PoolOptions {
  statementTimeoutMs?: number;
  /**
   * The URL is a transaction-mode pooler's (PgBouncer): it refuses startup parameters it does not
   * know, so the statement timeout is the pooler's to set (the Helm chart's PgBouncer sets it with
   * `connect_query`).
   */
  transactionPooler?: boolean;
  /** Shows in `pg_stat_activity.application_name` (through a pooler too: PgBouncer passes it on). */
  applicationName?: string;
}

export function createPool(url: string, max = 5, options: PoolOptions = {}): Pool {
  // A connection that cannot be had within 30 s (every client held, or a connect the server
  // never answers) fails with an error the caller logs and retries, instead of a wait with no end
  // that would stall the app without a word. A statement over the timeout is cancelled by the
  // server (migrations lift it for their own transactions).
  const pool = new Pool({
    connectionString: url,
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: options.applicationName,
    ...(options.transactionPooler ? {} : { statement_timeout: options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS }),
  });
  // An idle client that loses its connection (server restart, pg_terminate_backend) emits
  // 'error' on the pool; without a listener that would crash the process.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * An app's connections: its pool and read lane through the transaction pooler when there is
 * one (else direct), and `url` for its direct sessions.
 */
export function connectDatabase(urls: { url: string; poolerUrl?: string }, applicationName?: string): Database {
  const options = { transactionPooler: urls.poolerUrl !== undefined, applicationName };
  const pooled = urls.poolerUrl ?? urls.url;
  return new Database(
    createPool(pooled, 5, options),
    urls.url,
    createPool(pooled, READ_POOL_SIZE, options),
    { preparedStatements: !options.transactionPooler },
  );
}
