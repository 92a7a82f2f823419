import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { StoredEvent } from './event.types';
import { batchNotifications } from './notify-batch';

interface EventRow {
  id: string;
  tx_id: string;
  type: string;
  cluster: string | null;
  payload: unknown;
  created_at: Date;
}

export interface PendingPage {
  events: StoredEvent[];
  /** Every transaction with a smaller id had ended when the page was read. */
  snapshotXmin: string;
}

/** SQL for the `event` table. */
@Injectable()
export class EventRepository {
  constructor(private readonly db: Database) {}

  /** Runs in the caller's transaction when there is one; the row's trigger sends the NOTIFY. */
  async insert(type: string, cluster: string | null, payload: unknown): Promise<string> {
    const [row] = await this.db.query<{ id: string }>(
      'INSERT INTO event (type, cluster, payload) VALUES ($1, $2, $3) RETURNING id',
      [type, cluster, JSON.stringify(payload ?? null)],
      'event_insert',
    );
    return row.id;
  }

  /**
   * Many events of one type in one statement, announced together in the same transaction by
   * `batchNotifications` (not row by row: the rows are marked `batched`, which the trigger
   * skips). 2,000 job.placed over 100 clusters queue about 100 messages for every listening
   * connection to read, instead of 4,000, and no cluster's consumer needs a query to get them.
   */
  async insertMany(type: string, events: ReadonlyArray<{ cluster: string | null; payload: unknown }>): Promise<string[]> {
    if (events.length === 0) return [];
    return this.db.transaction(async () => {
      const rows = await this.db.query<{ id: string; tx_id: string; created_at: Date }>(
        `INSERT INTO event (type, cluster, payload, batched)
         SELECT $1, cluster, payload, true FROM unnest($2::text[], $3::jsonb[]) WITH ORDINALITY AS e(cluster, payload, n)
         ORDER BY n
         RETURNING id, tx_id::text AS tx_id, created_at`,
        [type, events.map((e) => e.cluster), events.map((e) => JSON.stringify(e.payload ?? null))],
        'event_insert_many',
      );
      const messages = batchNotifications(
        type,
        rows[0].tx_id,
        rows.map((row, i) => ({
          cluster: events[i].cluster,
          message: { id: Number(row.id), tx: row.tx_id, type, cluster: events[i].cluster, at: row.created_at.getTime(), data: events[i].payload ?? null },
        })),
      );
      await this.db.query('SELECT pg_notify(channel, message) FROM unnest($1::text[], $2::text[]) AS m(channel, message)', [
        messages.map((m) => m.channel),
        messages.map((m) => m.text),
      ]);
      return rows.map((row) => row.id);
    });
  }

  /**
   * Committed events of one type after a (tx_id, id) position, in commit-horizon order.
   * `cluster` null reads every cluster's events; otherwise that cluster's and the unscoped ones.
   */
  async pendingAfter(
    type: string,
    cluster: string | null,
    after: { txId: string; id: string },
    limit: number,
  ): Promise<PendingPage> {
    // The horizon must come from the same statement (same snapshot) as the rows: read a moment
    // later, it could pass a row that committed in between and was never read. A cluster's
    // reader takes two ranges of event_cluster_position (its rows, the unscoped ones) rather
    // than walking every cluster's rows.
    const rows =
      cluster === null
        ? await this.db.query<Partial<EventRow> & { snapshot_xmin: string }>(
            `SELECT snap.xmin AS snapshot_xmin, e.*
               FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin) snap
               LEFT JOIN LATERAL (
                 SELECT id, tx_id::text AS tx_id, type, cluster, payload, created_at
                   FROM event
                  WHERE type = $1 AND (tx_id, id) > ($2::xid8, $3::bigint)
                  ORDER BY tx_id, id
                  LIMIT $4
               ) e ON true`,
            [type, after.txId, after.id, limit],
            'event_pending_after_all_clusters',
          )
        : await this.db.query<Partial<EventRow> & { snapshot_xmin: string }>(
            `SELECT snap.xmin AS snapshot_xmin, e.*
               FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin) snap
               LEFT JOIN LATERAL (
                 SELECT id, tx_id::text AS tx_id, type, cluster, payload, created_at
                   FROM ((SELECT * FROM event
                           WHERE type = $1 AND cluster = $2 AND (tx_id, id) > ($3::xid8, $4::bigint)
                           ORDER BY tx_id, id LIMIT $5)
                         UNION ALL
                         (SELECT * FROM event
                           WHERE type = $1 AND cluster IS NULL AND (tx_id, id) > ($3::xid8, $4::bigint)
                           ORDER BY tx_id, id LIMIT $5)) own
                  ORDER BY tx_id, id
                  LIMIT $5
               ) e ON true`,
            [type, cluster, after.txId, after.id, limit],
            'event_pending_after_one_cluster',
          );
    const events = rows.filter((row): row is EventRow & { snapshot_xmin: string } => row.id != null).map(toStoredEvent);
    return { events, snapshotXmin: rows[0].snapshot_xmin };
  }

  /**
   * Events with an id above `afterId`, oldest first, for inspection (`GET /api/v1/events`).
   * `type` (optional) matches the event type (`job.finished`) or its channel (`job_finished`).
   * At most 1000 rows. Ids follow insertion, not commit order: a reader following by id may
   * miss a row whose transaction commits after a later id was read.
   */
  async recent(afterId: string, type: string | null, limit: number): Promise<StoredEvent[]> {
    const capped = Math.min(Math.max(Math.trunc(limit) || 1, 1), 1000);
    const rows = await this.db.query<EventRow>(
      `SELECT id, tx_id::text AS tx_id, type, cluster, payload, created_at
         FROM event
        WHERE id > $1::bigint
          AND ($2::text IS NULL OR type = $2 OR replace(type, '.', '_') = $2)
        ORDER BY id
        LIMIT $3`,
      [afterId, type, capped],
      'event_recent',
    );
    return rows.map(toStoredEvent);
  }

  /**
   * Committed events of every type (or of one type or channel) after a (tx_id, id) position,
   * leaving out ids the reader has already seen, in commit-horizon order, with the horizon read
   * in the same statement: what a feed (SSE, `infrabox events --follow`) reads on each wake-up.
   */
  async feedPage(
    type: string | null,
    after: { txId: string; id: string },
    seenIds: readonly string[],
    limit: number,
  ): Promise<PendingPage> {
    const rows = await this.db.query<Partial<EventRow> & { snapshot_xmin: string }>(
      `SELECT snap.xmin AS snapshot_xmin, e.*
         FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin) snap
         LEFT JOIN LATERAL (
           SELECT id, tx_id::text AS tx_id, type, cluster, payload, created_at
             FROM event
            WHERE (tx_id, id) > ($2::xid8, $3::bigint)
              AND ($1::text IS NULL OR type = $1 OR replace(type, '.', '_') = $1)
              AND NOT (id = ANY($4::bigint[]))
            ORDER BY tx_id, id
            LIMIT $5
         ) e ON true`,
      [type, after.txId, after.id, seenIds, limit],
      'event_feed_page',
    );
    const events = rows.filter((row): row is EventRow & { snapshot_xmin: string } => row.id != null).map(toStoredEvent);
    return { events, snapshotXmin: rows[0].snapshot_xmin };
  }

  /** The writing transaction of each event id that still exists (a feed restored from a cursor). */
  async txIdsOf(ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.query<{ id: string; tx_id: string }>(
      'SELECT id::text AS id, tx_id::text AS tx_id FROM event WHERE id = ANY($1::bigint[])',
      [ids],
    );
    return new Map(rows.map((row) => [row.id, row.tx_id]));
  }

  /**
   * How many events of a type committed from `fromTxId` up to the horizon, with the horizon
   * itself (same statement, same snapshot): a cheap check that nothing was missed.
   */
  async countUpToHorizon(type: string, cluster: string | null, fromTxId: string): Promise<{ count: number; snapshotXmin: string }> {
    const below = 'tx_id >= $2::xid8 AND tx_id < pg_snapshot_xmin(pg_current_snapshot())';
    const [row] =
      cluster === null
        ? await this.db.query<{ count: string; snapshot_xmin: string }>(
            `SELECT (SELECT count(*) FROM event WHERE type = $1 AND ${below}) AS count,
                    pg_snapshot_xmin(pg_current_snapshot())::text AS snapshot_xmin`,
            [type, fromTxId],
            'event_count_up_to_horizon_all_clusters',
          )
        : await this.db.query<{ count: string; snapshot_xmin: string }>(
            `SELECT (SELECT count(*) FROM event WHERE type = $1 AND cluster = $3 AND ${below})
                  + (SELECT count(*) FROM event WHERE type = $1 AND cluster IS NULL AND ${below}) AS count,
                    pg_snapshot_xmin(pg_current_snapshot())::text AS snapshot_xmin`,
            [type, fromTxId, cluster],
            'event_count_up_to_horizon_one_cluster',
          );
    return { count: Number(row.count), snapshotXmin: row.snapshot_xmin };
  }

  /**
   * Deletes up to `limit` of the oldest events that are older than `retentionSeconds` and that
   * every consumer seen within the retention has passed: below its horizon, or among its
   * handled ids (see `event_consumer`). A consumer holds back only the rows it reads (its type;
   * its cluster and unscoped rows, or every cluster). Positions are saved behind the consumers'
   * real progress, so judging by them never takes a row a live consumer still needs. Rows in
   * `event_dead_letter` stay for an operator. Returns how many rows were deleted.
   */
  async prunePassed(retentionSeconds: number, limit: number): Promise<number> {
    const rows = await this.db.query<{ id: string }>(
      `DELETE FROM event WHERE id IN (
         SELECT e.id FROM event e
          WHERE e.created_at < now() - make_interval(secs => $1)
            AND NOT EXISTS (SELECT 1 FROM event_dead_letter d WHERE d.event_id = e.id)
            AND NOT EXISTS (
              SELECT 1 FROM event_consumer c
               WHERE c.updated_at >= now() - make_interval(secs => $1)
                 AND (c.event_type IS NULL OR c.event_type = e.type)
                 AND (c.cluster IS NULL OR e.cluster IS NULL OR e.cluster = c.cluster)
                 AND e.tx_id >= c.horizon
                 AND e.id <> ALL (c.handled_ids))
          ORDER BY e.created_at
          LIMIT $2
          FOR UPDATE SKIP LOCKED)
       RETURNING id`,
      [retentionSeconds, limit],
    );
    return rows.length;
  }
}

function toStoredEvent(row: EventRow): StoredEvent {
  return {
    id: row.id,
    txId: row.tx_id,
    type: row.type,
    cluster: row.cluster,
    payload: row.payload,
    createdAt: row.created_at,
  };
}

