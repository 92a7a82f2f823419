import { Logger } from '@nestjs/common';
import { backoffDelay } from '@infrabox/toolkit';
import { EventConsumerRepository } from './event-consumer.repository';
import { EventRepository } from './event.repository';
import { StoredEvent } from './event.types';

export interface SubscriptionOptions {
  /** Durable consumer name: app + cluster + event type. */
  consumer: string;
  type: string;
  /** null: every cluster's events; otherwise this cluster's and the unscoped ones. */
  cluster: string | null;
  handle: (event: StoredEvent) => Promise<void>;
  /** Handler attempts before an event goes to `event_dead_letter`. */
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** How often the position is written back while events flow. */
  saveIntervalMs: number;
  /**
   * The position is written at least this often even when it has not moved: its `updated_at`
   * tells the event pruner that this consumer is alive and must be waited for.
   */
  touchIntervalMs: number;
  pageSize: number;
}

/**
 * An idle subscription (no handled ids to retire, nothing failing or wanted) runs the safety
 * poll's check only every this many polls: with its listener connected no NOTIFY is lost, and
 * the 100 apps of 100 clusters, each with a few mostly idle event types, would otherwise send
 * hundreds of checks a second that find nothing.
 */
const IDLE_POLL_EVERY = 10;

interface Failing {
  event: StoredEvent;
  attempts: number;
  dueAt: number;
}

/**
 * One consumer's delivery of one event type: exactly-once effect over at-least-once input.
 *
 * Events arrive two ways: live, from a NOTIFY that carries the event (the row committed, so it
 * can be handled at once), and by catch-up, reading committed rows past the durable position
 * (after start and every reconnect, on a NOTIFY without data, and on the safety poll).
 *
 * The durable position is a horizon — every transaction below it has ended, so no row below it
 * can still appear — plus the ids handled above it. The horizon advances only to
 * pg_snapshot_xmin, which a long-running transaction anywhere on the server holds back; the
 * handled-ids set is what lets delivery go on past it without waiting or repeating.
 */
export class EventSubscription {
  private readonly logger: Logger;
  private horizon = 0n;
  private readonly handled = new Map<string, bigint>();
  private readonly failing = new Map<string, Failing>();
  private readonly live: StoredEvent[] = [];
  /** `full` reads every row past the horizon; `verify` first counts them (the safety poll). */
  private catchUpWanted: 'none' | 'verify' | 'full' = 'full';
  private draining: Promise<void> | null = null;
  private kickedWhileDraining = false;
  private pollsSinceCheck = 0;
  private dirty = false;
  private lastSave = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private saveTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly options: SubscriptionOptions,
    private readonly events: EventRepository,
    private readonly consumers: EventConsumerRepository,
  ) {
    this.logger = new Logger(`events:${options.consumer}`);
  }

  async start(): Promise<void> {
    const position = await this.consumers.load(this.options.consumer, { type: this.options.type, cluster: this.options.cluster });
    this.lastSave = Date.now();
    this.horizon = BigInt(position.horizon);
    // The tx of a remembered id is unknown after a restart; the horizon is a safe stand-in,
    // since those ids are only pruned once the horizon has moved past it.
    for (const id of position.handledIds) this.handled.set(id, this.horizon);
  }

  /** A NOTIFY arrived: the event it names has committed. */
  onNotification(event: StoredEvent | { id: string; withoutData: true }): void {
    if ('withoutData' in event) {
      this.requestCatchUp();
      return;
    }
    if (!this.matchesCluster(event.cluster)) return;
    this.live.push(event);
    this.kick();
  }

  /** The safety poll: check now if there is anything to retire or retry, else every IDLE_POLL_EVERY polls. */
  onPoll(): void {
    const busy = this.handled.size > 0 || this.failing.size > 0 || this.catchUpWanted !== 'none';
    if (!busy && ++this.pollsSinceCheck < IDLE_POLL_EVERY) return;
    this.pollsSinceCheck = 0;
    this.requestCatchUp('verify');
  }

  requestCatchUp(mode: 'verify' | 'full' = 'full'): void {
    if (this.catchUpWanted !== 'full') this.catchUpWanted = mode;
    this.kick();
  }

  /** null: every cluster's events; otherwise this cluster's and the unscoped ones. */
  get cluster(): string | null {
    return this.options.cluster;
  }

  /** Handled count above the horizon; exposed for tests and metrics. */
  get pendingHandledIds(): number {
    return this.handled.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.saveTimer) clearTimeout(this.saveTimer);
    await this.draining;
    if (this.dirty) await this.save().catch(() => undefined);
  }

  private matchesCluster(cluster: string | null): boolean {
    return this.options.cluster === null || cluster === null || cluster === this.options.cluster;
  }

  private kick(): void {
    if (this.closed) return;
    if (this.draining) {
      this.kickedWhileDraining = true;
      return;
    }
    this.kickedWhileDraining = false;
    this.draining = this.drain()
      .catch((error: Error) => {
        // The database went away mid-drain: a reconnect requests a catch-up, the poll retries.
        this.logger.warn(`delivery paused: ${error.message}`);
        this.catchUpWanted = 'full';
      })
      .finally(() => {
        this.draining = null;
        // Work that arrived while the drain was finishing (saving its position) found it busy.
        if (this.kickedWhileDraining) this.kick();
      });
  }

  private async drain(): Promise<void> {
    while (!this.closed) {
      if (this.catchUpWanted !== 'none') {
        const mode = this.catchUpWanted;
        this.catchUpWanted = 'none';
        if (mode === 'full' || !(await this.advanceIfNothingMissed())) await this.catchUp();
      } else if (this.live.length > 0) {
        await this.deliver(this.live.shift()!);
      } else if (this.nextDueRetry()) {
        await this.deliver(this.nextDueRetry()!.event);
      } else {
        break;
      }
    }
    this.scheduleRetryTimer();
    await this.saveIfDue();
  }

  private async catchUp(): Promise<void> {
    let after = { txId: this.horizon.toString(), id: '0' };
    let newHorizon: bigint | null = null;
    for (;;) {
      const page = await this.events.pendingAfter(this.options.type, this.options.cluster, after, this.options.pageSize);
      newHorizon ??= BigInt(page.snapshotXmin);
      for (const event of page.events) await this.deliver(event);
      if (page.events.length < this.options.pageSize) break;
      const last = page.events[page.events.length - 1];
      after = { txId: last.txId, id: last.id };
    }
    // Everything committed below newHorizon has now been handled, except events still failing
    // (advanceHorizon stops below those).
    this.advanceHorizon(newHorizon);
  }

  /**
   * The safety poll's cheap path: if the rows between the horizon and the server's xmin are
   * exactly the ones handled, move the horizon without reading them. Any difference (a missed
   * event, a failing one, ids restored after a restart) falls back to a full catch-up.
   */
  private async advanceIfNothingMissed(): Promise<boolean> {
    const { count, snapshotXmin } = await this.events.countUpToHorizon(this.options.type, this.options.cluster, this.horizon.toString());
    const xmin = BigInt(snapshotXmin);
    let handledBelow = 0;
    for (const tx of this.handled.values()) if (tx >= this.horizon && tx < xmin) handledBelow++;
    if (handledBelow !== count) return false;
    this.advanceHorizon(xmin);
    return true;
  }

  /**
   * Moves the horizon and forgets the handled ids below it. The position is worth writing when
   * ids were dropped (the stored set shrinks). A move alone — the server's xmin advancing while
   * none of this consumer's events flow — waits for the touch interval: it is safe to lose (a
   * restart re-reads from the older horizon and finds nothing of its own there), and writing it
   * at every poll would cost every idle consumer of every app one WAL flush a second.
   */
  private advanceHorizon(to: bigint): void {
    // Never past an event still failing: below the horizon it would count as handled.
    for (const failing of this.failing.values()) {
      const tx = BigInt(failing.event.txId);
      if (tx < to) to = tx;
    }
    if (to <= this.horizon) return;
    this.horizon = to;
    for (const [id, tx] of this.handled) {
      if (tx >= to) continue;
      this.handled.delete(id);
      this.dirty = true;
    }
  }

  private alreadySeen(event: StoredEvent): boolean {
    const tx = BigInt(event.txId);
    if (tx < this.horizon) return true;
    if (!this.handled.has(event.id)) return false;
    // Ids restored after a restart carry the horizon as a stand-in tx; learn the real one
    // before the horizon moves, or the id would be pruned while its row is still above it.
    this.handled.set(event.id, tx);
    return true;
  }

  private async deliver(event: StoredEvent): Promise<void> {
    if (this.alreadySeen(event)) {
      // Nothing left to retry; a failing entry left behind would make drain() pick it forever.
      this.failing.delete(event.id);
      return;
    }
    const failing = this.failing.get(event.id);
    if (failing && failing.dueAt > Date.now()) return;
    try {
      await this.options.handle(event);
      this.markHandled(event);
    } catch (error) {
      await this.recordFailure(event, failing?.attempts ?? 0, error as Error);
    }
  }

  private markHandled(event: StoredEvent): void {
    this.handled.set(event.id, BigInt(event.txId));
    this.failing.delete(event.id);
    this.dirty = true;
  }

  private async recordFailure(event: StoredEvent, previousAttempts: number, error: Error): Promise<void> {
    const attempts = previousAttempts + 1;
    const reason = error?.message ?? String(error);
    if (attempts >= this.options.maxAttempts) {
      this.logger.error(`event ${event.id} (${event.type}) failed ${attempts} times, moved to event_dead_letter: ${reason}`);
      await this.consumers.deadLetter(this.options.consumer, event.id, attempts, reason);
      this.markHandled(event);
      return;
    }
    const delay = backoffDelay(attempts, this.options.retryBaseMs, this.options.retryMaxMs);
    this.logger.warn(`event ${event.id} (${event.type}) failed, attempt ${attempts}/${this.options.maxAttempts}, retry in ${delay} ms: ${reason}`);
    this.failing.set(event.id, { event, attempts, dueAt: Date.now() + delay });
  }

  private nextDueRetry(): Failing | undefined {
    const now = Date.now();
    for (const failing of this.failing.values()) if (failing.dueAt <= now) return failing;
    return undefined;
  }

  private scheduleRetryTimer(): void {
    if (this.retryTimer || this.closed || this.failing.size === 0) return;
    const next = Math.min(...[...this.failing.values()].map((f) => f.dueAt));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.kick();
    }, Math.max(0, next - Date.now()));
  }

  private async saveIfDue(): Promise<void> {
    if (!this.dirty && Date.now() - this.lastSave >= this.options.touchIntervalMs) this.dirty = true;
    if (!this.dirty || this.closed) return;
    const wait = this.lastSave + this.options.saveIntervalMs - Date.now();
    if (wait <= 0) {
      await this.save();
    } else if (!this.saveTimer) {
      this.saveTimer = setTimeout(() => {
        this.saveTimer = null;
        this.kick();
      }, wait);
    }
  }

  private async save(): Promise<void> {
    this.dirty = false;
    this.lastSave = Date.now();
    try {
      await this.consumers.save(this.options.consumer, {
        horizon: this.horizon.toString(),
        handledIds: [...this.handled.keys()],
      });
    } catch (error) {
      this.dirty = true;
      throw error;
    }
  }
}
