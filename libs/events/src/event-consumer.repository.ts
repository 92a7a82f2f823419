import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';

export interface ConsumerPosition {
  /** Every matching event with a smaller tx_id has been handled. */
  horizon: string;
  /** Events at or above the horizon that have been handled too. */
  handledIds: string[];
}

/** SQL for `event_consumer` (positions) and `event_dead_letter`. */
@Injectable()
export class EventConsumerRepository {
  constructor(private readonly db: Database) {}

  async load(name: string): Promise<ConsumerPosition> {
    const [row] = await this.db.query<{ horizon: string; handled_ids: string[] }>(
      `INSERT INTO event_consumer (name) VALUES ($1)
       ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
       RETURNING horizon::text AS horizon, handled_ids::text[] AS handled_ids`,
      [name],
    );
    return { horizon: row.horizon, handledIds: row.handled_ids };
  }

  async save(name: string, position: ConsumerPosition): Promise<void> {
    await this.db.query(
      `UPDATE event_consumer SET horizon = $2::xid8, handled_ids = $3::bigint[], updated_at = now() WHERE name = $1`,
      [name, position.horizon, position.handledIds],
    );
  }

  async deadLetter(consumer: string, eventId: string, attempts: number, error: string): Promise<void> {
    await this.db.query(
      `INSERT INTO event_dead_letter (consumer, event_id, attempts, error) VALUES ($1, $2, $3, $4)
       ON CONFLICT (consumer, event_id) DO UPDATE SET attempts = EXCLUDED.attempts, error = EXCLUDED.error`,
      [consumer, eventId, attempts, error],
    );
  }
}
