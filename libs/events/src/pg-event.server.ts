import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, Server } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { EventConsumerRepository } from './event-consumer.repository';
import { EventListener, Notification } from './event-listener';
import { EventRepository } from './event.repository';
import { EventSubscription } from './event-subscription';
import { channelsFor, StoredEvent } from './event.types';
import { PgEventContext } from './pg-event.context';

export interface PgEventServerOptions {
  /** The app's name; with the cluster and the event type it names each durable consumer. */
  app: string;
  /** This installation's cluster. */
  cluster: string;
  /** Deliver only events scoped to this cluster (and unscoped ones). Default true. */
  onlyOwnCluster?: boolean;
  databaseUrl: string;
  /** Safety poll: catch up even if every NOTIFY was lost. */
  pollIntervalMs?: number;
  maxAttempts?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  saveIntervalMs?: number;
  /** A consumer writes its position at least this often, moved or not (default 60 s; see EventSubscription). */
  touchIntervalMs?: number;
}

/** How often an idle consumer still marks itself alive; the event retention must be far longer. */
export const CONSUMER_TOUCH_INTERVAL_MS = 60_000;

interface NotifyPayload {
  id?: unknown;
  tx?: unknown;
  /** created_at in epoch milliseconds. */
  at?: unknown;
  type?: unknown;
  cluster?: unknown;
  data?: unknown;
}

/** Runs around one attempt to handle `event`; `handle` rejects when the handler failed. */
export type DispatchWrapper = (event: StoredEvent, handle: () => Promise<void>) => Promise<void>;

/**
 * NestJS transport over PostgreSQL: `@EventPattern('job.finished')` handlers are fed from the
 * `event` table, woken by LISTEN/NOTIFY on channel `job_finished`.
 */
export class PgEventServer extends Server implements CustomTransportStrategy {
  private readonly log = new Logger('PgEventServer');
  private readonly subscriptions: EventSubscription[] = [];
  /** Channel → the subscription it feeds (a subscription listens on two: see channelsFor). */
  private readonly byChannel = new Map<string, EventSubscription>();
  private listener: EventListener | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private connected = false;
  private readonly wrappers: DispatchWrapper[] = [];

  constructor(
    private readonly options: PgEventServerOptions,
    private readonly events: EventRepository,
    private readonly consumers: EventConsumerRepository,
  ) {
    super();
  }

  /** True while the LISTEN connection is up (for readiness checks). */
  get isListening(): boolean {
    return this.subscriptions.length === 0 || this.connected;
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      await this.start();
      callback();
    } catch (error) {
      callback(error);
    }
  }

  private async start(): Promise<void> {
    const { app, cluster } = this.options;
    for (const type of this.messageHandlers.keys()) {
      const subscription = new EventSubscription(
        {
          consumer: `${app}:${cluster}:${type}`,
          type,
          cluster: this.options.onlyOwnCluster === false ? null : cluster,
          handle: (event) => this.dispatch(event),
          maxAttempts: this.options.maxAttempts ?? 8,
          retryBaseMs: this.options.retryBaseMs ?? 200,
          retryMaxMs: this.options.retryMaxMs ?? 30_000,
          // At most one position write a second per consumer while events flow: a crash repeats
          // at most that second's events (handlers are idempotent), and 100 clusters' consumers
          // each saving five times a second cost more than the events they saved.
          saveIntervalMs: this.options.saveIntervalMs ?? 1_000,
          touchIntervalMs: this.options.touchIntervalMs ?? CONSUMER_TOUCH_INTERVAL_MS,
          pageSize: 500,
        },
        this.events,
        this.consumers,
      );
      await subscription.start();
      this.subscriptions.push(subscription);
      for (const channel of channelsFor(type, subscription.cluster)) this.byChannel.set(channel, subscription);
    }
    if (this.subscriptions.length === 0) return;

    this.listener = new EventListener(
      this.options.databaseUrl,
      `infrabox ${app}@${cluster} listener`,
      () => this.onConnected(),
      (notification) => this.onNotification(notification),
      (error) => {
        this.connected = false;
        this.log.error(`listener connection: ${error.message}`);
      },
      () => {
        if (this.connected) this.log.warn('listener connection lost; reconnecting');
        this.connected = false;
      },
    );
    await this.listener.connect([...this.byChannel.keys()]);
    const poll = this.options.pollIntervalMs ?? 1_000;
    this.pollTimer = setInterval(() => {
      for (const subscription of this.subscriptions) subscription.onPoll();
    }, poll);
    this.pollTimer.unref();
  }

  private onConnected(): void {
    this.connected = true;
    this.catchUpAll();
  }

  private catchUpAll(): void {
    for (const subscription of this.subscriptions) subscription.requestCatchUp('full');
  }

  private onNotification({ channel, payload }: Notification): void {
    const subscription = this.byChannel.get(channel);
    if (!subscription) return;
    const message = (payload ?? {}) as NotifyPayload & { batch?: unknown };
    // Events written together come packed, `{"batch": [...]}` (EventRepository.insertMany).
    const messages = Array.isArray(message.batch) ? (message.batch as NotifyPayload[]) : [message];
    for (const one of messages) this.deliverNotified(subscription, one ?? {});
  }

  private deliverNotified(subscription: EventSubscription, message: NotifyPayload): void {
    const valid =
      typeof message.id === 'number' && typeof message.tx === 'string' && typeof message.type === 'string';
    if (!valid || message.data === null || message.data === undefined) {
      // A transaction's later events on this channel (one marker for all of them: see migration
      // 0014), an event too large to carry, or a hand-written NOTIFY: read the table instead.
      subscription.onNotification({ id: String(message.id), withoutData: true });
      return;
    }
    subscription.onNotification({
      id: String(message.id),
      txId: message.tx as string,
      type: message.type as string,
      cluster: typeof message.cluster === 'string' ? message.cluster : null,
      payload: message.data,
      createdAt: typeof message.at === 'number' ? new Date(message.at) : undefined,
    });
  }

  /**
   * Adds a wrapper around every handler run (metrics, log context). Wrappers added later run
   * inside those added before; each must call `handle` once and pass on its outcome.
   */
  addDispatchWrapper(wrapper: DispatchWrapper): void {
    this.wrappers.push(wrapper);
  }

  private async dispatch(event: StoredEvent): Promise<void> {
    const handler = this.messageHandlers.get(event.type);
    if (!handler) return;
    const run = async () => {
      const result = await handler(event.payload, new PgEventContext([event]));
      await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
    };
    await this.wrappers.reduceRight<() => Promise<void>>((next, wrapper) => () => wrapper(event, next), run)();
  }

  async close(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    await Promise.all(this.subscriptions.map((subscription) => subscription.close()));
    await this.listener?.close().catch(() => undefined);
    this.connected = false;
  }

  on(): never {
    throw new Error('PgEventServer does not expose transport events');
  }

  unwrap<T>(): T {
    return this.listener as T;
  }
}
