import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';

export interface ConsumerPosition {
  /** Every matching event with a smaller tx_id has been handled. */
  horizon: string;
  /** Events at or above the horizon that have been handled too. */
  handledIds: string[];
}

/** What a consumer reads: one event type, of one cluster (and unscoped events) or of all (null). */
export interface ConsumerSubject {
  type: string;
  cluster: string | null;
}

export interface ConsumerSighting {
  name: string;
  type: string | null;
  cluster: string | null;
  /** When it last started or saved its position. */
  lastSeenAt: Date;
}

/** SQL for `event_consumer` (positions) and `event_dead_letter`. */
@Injectable()
export class EventConsumerRepository {
  constructor(private readonly db: Database) {}

  /** Creates or reads the consumer's position, recording what it reads and that it is alive. */
  async load(name: string, subject: ConsumerSubject): Promise<ConsumerPosition> {
    const [row] = await this.db.query<{ horizon: string; handled_ids: string[] }>(
      `INSERT INTO event_consumer (name, event_type, cluster) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET event_type = EXCLUDED.event_type, cluster = EXCLUDED.cluster, updated_at = now()
       RETURNING horizon::text AS horizon, handled_ids::text[] AS handled_ids`,
      [name, subject.type, subject.cluster],
    );
    return { horizon: row.horizon, handledIds: row.handled_ids };
  }

  /**
   * Writes the position without waiting for the WAL flush (synchronous_commit off for this one
   * transaction). A position lost to a server crash only means events handled again — delivery
   * is at-least-once and the handlers' effects committed, durably, before it. Waiting instead
   * costs every consumer of every app a flush per save: at 100 clusters those flushes queue up
   * in front of the commits that matter.
   */
  async save(name: string, position: ConsumerPosition): Promise<void> {
    await this.db.query(
      `UPDATE event_consumer SET horizon = $2::xid8, handled_ids = $3::bigint[], updated_at = now()
         FROM (SELECT set_config('synchronous_commit', 'off', true)) AS unflushed
        WHERE name = $1`,
      [name, position.horizon, position.handledIds],
    );
  }

  /** Every consumer, the longest unseen first. */
  async findAll(): Promise<ConsumerSighting[]> {
    const rows = await this.db.query<{ name: string; event_type: string | null; cluster: string | null; updated_at: Date }>(
      'SELECT name, event_type, cluster, updated_at FROM event_consumer ORDER BY updated_at, name',
    );
    return rows.map((r) => ({ name: r.name, type: r.event_type, cluster: r.cluster, lastSeenAt: r.updated_at }));
  }

  /** Consumers that have neither started nor saved their position for longer than `seconds`. */
  async findUnseenFor(seconds: number): Promise<ConsumerSighting[]> {
    const rows = await this.db.query<{ name: string; event_type: string | null; cluster: string | null; updated_at: Date }>(
      `SELECT name, event_type, cluster, updated_at FROM event_consumer
        WHERE updated_at < now() - make_interval(secs => $1)
        ORDER BY updated_at, name`,
      [seconds],
    );
    return rows.map((r) => ({ name: r.name, type: r.event_type, cluster: r.cluster, lastSeenAt: r.updated_at }));
  }

  async deadLetter(consumer: string, eventId: string, attempts: number, error: string): Promise<void> {
    await this.db.query(
      `INSERT INTO event_dead_letter (consumer, event_id, attempts, error) VALUES ($1, $2, $3, $4)
       ON CONFLICT (consumer, event_id) DO UPDATE SET attempts = EXCLUDED.attempts, error = EXCLUDED.error`,
      [consumer, eventId, attempts, error],
    );
  }
}
