import { EventRepository } from './event.repository';
import { FeedCursor, formatFeedCursor } from './event-feed.cursor';
import { StoredEvent } from './event.types';

/**
 * One reader's way through the event table (the dashboard's SSE stream, `infrabox events
 * --follow`): every committed event exactly once, in commit-horizon order, however late it
 * commits.
 *
 * Following by id would skip a row whose transaction took its id early and committed after a
 * later id was read. Like the consumers' subscriptions (design.md, "Event backbone"), a feed
 * keeps a horizon — pg_snapshot_xmin, read in the same statement as the rows, below which every
 * transaction has ended — plus the ids it has read above it. Rows past the horizon are delivered
 * at once, so a long-open transaction anywhere on the server delays nothing; it only keeps their
 * ids in the seen set until the horizon passes them.
 */
export class EventFeed {
  private horizon: bigint;
  /** Event id → its transaction id, for the events read at or above the horizon. */
  private readonly seen = new Map<string, bigint>();
  /** The pass in progress: where its next page starts, and the horizon its first page read. */
  private pass: { after: { txId: string; id: string }; horizon: bigint | null } | null = null;

  private constructor(
    private readonly events: EventRepository,
    horizon: bigint,
    /** Only this type (or channel); null: every type. */
    private readonly type: string | null,
    private readonly pageSize: number,
  ) {
    this.horizon = horizon;
  }

  /** A feed that delivers what commits after `cursor` (FEED_START: the whole table first). */
  static async from(events: EventRepository, cursor: FeedCursor, type: string | null, pageSize = 500): Promise<EventFeed> {
    const feed = new EventFeed(events, cursor.horizon, type, pageSize);
    // Ids from a cursor come without their transaction; learn it, so each is forgotten only once
    // the horizon has passed it (ids no longer in the table are gone for good).
    const txIds = await events.txIdsOf(cursor.seenIds);
    for (const [id, tx] of txIds) if (BigInt(tx) >= cursor.horizon) feed.seen.set(id, BigInt(tx));
    return feed;
  }

  /** A feed that delivers only what commits from now on. */
  static async fromNow(events: EventRepository, type: string | null, pageSize = 500): Promise<EventFeed> {
    const probe = await events.feedPage(type, { txId: '0', id: '0' }, [], 0);
    const feed = new EventFeed(events, BigInt(probe.snapshotXmin), type, pageSize);
    // Events past the horizon that have already committed are "now" too: skip them.
    do await feed.read();
    while (feed.behind);
    return feed;
  }

  /** The text form of the position after the last event read (the SSE event id). */
  get cursor(): string {
    return formatFeedCursor({ horizon: this.horizon, seenIds: [...this.seen.keys()] });
  }

  /** True while a pass through the table is unfinished: call `read()` again at once. */
  get behind(): boolean {
    return this.pass !== null;
  }

  /**
   * The next page (at most `pageSize`) of events committed that this feed has not delivered,
   * oldest transaction first; empty when there is nothing new. A pass through the table may take
   * several pages (`behind` is true until it is done); the horizon moves only when a pass ends.
   */
  async read(): Promise<StoredEvent[]> {
    const pass = this.pass ?? { after: { txId: this.horizon.toString(), id: '0' }, horizon: null };
    const page = await this.events.feedPage(this.type, pass.after, [...this.seen.keys()], this.pageSize);
    pass.horizon ??= BigInt(page.snapshotXmin);
    for (const event of page.events) this.seen.set(event.id, BigInt(event.txId));
    if (page.events.length === this.pageSize) {
      const last = page.events[page.events.length - 1];
      pass.after = { txId: last.txId, id: last.id };
      this.pass = pass;
      return page.events;
    }
    this.pass = null;
    // Every transaction below the pass's horizon had ended when the pass began, and the pass
    // read all of their rows: nothing can appear below it any more. (A row that committed
    // during the pass behind its position has a transaction at or above that horizon.)
    if (pass.horizon > this.horizon) {
      this.horizon = pass.horizon;
      for (const [id, tx] of this.seen) if (tx < pass.horizon) this.seen.delete(id);
    }
    return page.events;
  }
}
