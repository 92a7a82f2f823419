import { BadRequestException, HttpException, HttpStatus, Injectable, Logger, MessageEvent, OnModuleDestroy } from '@nestjs/common';
import { Observable, Subject, Subscriber } from 'rxjs';
import { Database } from '@infrabox/database';
import { channelsFor, EVENT_TYPES, EventFeed, EventListener, EventRepository, FEED_START, FeedCursor, parseFeedCursor } from '@infrabox/events';
import { toEventDto } from './event.dto';
import { typeFilter } from './events.service';
import { EventVisibility } from './event-visibility.service';

/** Channels whose NOTIFY wakes the streams at once (every catalogued type); others arrive with the poll. */
const WAKE_TYPES = EVENT_TYPES;
/** A stream also looks by itself this often, in case a NOTIFY was lost (a reconnect, another type). */
const POLL_INTERVAL_MS = 1_000;
/** An SSE comment this often keeps proxies and idle timeouts from closing a quiet stream. */
const KEEP_ALIVE_MS = 15_000;

/**
 * Open streams this api serves, from one client (its address) and in all: each stream reads the
 * event table on every wake-up and poll, so without a bound enough of them would queue every other
 * request behind their reads.
 */
export const STREAM_LIMITS = { perClient: 50, total: 500 } as const;

export interface StreamRequest {
  /** `now` (default), `0` (the whole table first) or a cursor from an earlier stream. */
  after?: string;
  /** Sent by a browser's EventSource when it reconnects; wins over `after`. */
  lastEventId?: string;
  /** Only events of this type or channel. */
  type?: string;
  /** Who asks (the remote address): at most STREAM_LIMITS.perClient streams each. */
  client: string;
  /** The projects whose job and build events the caller sees (null: every project's). */
  projectIds: readonly string[] | null;
}

/**
 * `GET /api/v1/events/stream`: the event table as server-sent events, then live. Each SSE
 * message `events` carries the events of one read (oldest transaction first) and, as its id,
 * the feed's cursor; `ready` says the stream has caught up. Woken by LISTEN on the event
 * channels (one connection for the whole api process, opened with the first stream).
 */
@Injectable()
export class EventStreamService implements OnModuleDestroy {
  private readonly logger = new Logger('event-stream');
  private readonly wakeups = new Subject<void>();
  private readonly streams = new Set<Subscriber<MessageEvent>>();
  private readonly perClient = new Map<string, number>();
  private listener: EventListener | null = null;

  constructor(
    private readonly db: Database,
    private readonly events: EventRepository,
    private readonly visibility: EventVisibility,
  ) {}

  /**
   * Validates the request (400 naming the parameter), checks the caps (429 naming the cap: the
   * client's open streams, or the api's) and returns the stream.
   */
  open(request: StreamRequest): Observable<MessageEvent> {
    const start = startOf(request);
    const type = typeFilter(request.type);
    const client = request.client;
    if ((this.perClient.get(client) ?? 0) >= STREAM_LIMITS.perClient) {
      throw tooMany(`${client} has ${STREAM_LIMITS.perClient} event streams open, the most one client may; close one first`);
    }
    if (this.streams.size >= STREAM_LIMITS.total) throw tooMany(`this api serves ${STREAM_LIMITS.total} event streams, the most it takes; try again later`);
    // Counted now, not at subscription: requests that come together all see each other.
    this.perClient.set(client, (this.perClient.get(client) ?? 0) + 1);
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left > 0) this.perClient.set(client, left);
      else this.perClient.delete(client);
    };
    return new Observable<MessageEvent>((subscriber) => {
      const stop = this.run(subscriber, start, type, request.projectIds);
      return () => {
        stop();
        release();
      };
    });
  }

  async onModuleDestroy(): Promise<void> {
    // Open streams would keep the HTTP server from closing.
    for (const stream of this.streams) stream.complete();
    this.streams.clear();
    await this.listener?.close().catch(() => undefined);
    this.listener = null;
  }

  private run(subscriber: Subscriber<MessageEvent>, start: FeedCursor | 'now', type: string | null, projectIds: readonly string[] | null): () => void {
    this.streams.add(subscriber);
    this.ensureListening();
    let feed: EventFeed | null = null;
    let pumping = false;
    let again = false;
    let ready = false;
    const pump = (): Promise<void> => this.db.inReadLane(read);
    const read = async (): Promise<void> => {
      if (pumping) {
        again = true;
        return;
      }
      pumping = true;
      try {
        do {
          again = false;
          feed ??= start === 'now' ? await EventFeed.fromNow(this.events, type) : await EventFeed.from(this.events, start, type);
          do {
            const events = await this.visibility.filter(await feed.read(), projectIds);
            if (subscriber.closed) return;
            if (events.length > 0) subscriber.next({ type: 'events', id: feed.cursor, data: events.map(toEventDto) });
          } while (feed.behind);
          if (!ready) {
            ready = true;
            subscriber.next({ type: 'ready', id: feed.cursor, data: { cursor: feed.cursor } });
          }
        } while (again && !subscriber.closed);
      } catch (error) {
        // The database went away for a moment: the poll tries again.
        this.logger.warn(`stream paused: ${(error as Error).message}`);
      } finally {
        pumping = false;
      }
    };
    const woken = this.wakeups.subscribe(() => void pump());
    const poll = setInterval(() => void pump(), POLL_INTERVAL_MS);
    const keepAlive = setInterval(() => subscriber.next({ comment: 'keep-alive', data: undefined as unknown as string }), KEEP_ALIVE_MS);
    void pump();
    return () => {
      this.streams.delete(subscriber);
      woken.unsubscribe();
      clearInterval(poll);
      clearInterval(keepAlive);
    };
  }

  private ensureListening(): void {
    if (this.listener) return;
    this.listener = new EventListener(
      this.db.url,
      'infrabox api event-stream listener',
      () => this.wakeups.next(),
      () => this.wakeups.next(),
      (error) => this.logger.warn(`listener connection: ${error.message}`),
    );
    this.listener.connect(WAKE_TYPES.flatMap((type) => channelsFor(type, null))).catch((error: Error) => {
      // The poll keeps the streams going; the next stream tries to listen again.
      this.logger.warn(`cannot listen for events: ${error.message}`);
      const failed = this.listener;
      this.listener = null;
      void failed?.close().catch(() => undefined);
    });
  }
}

function tooMany(message: string): HttpException {
  return new HttpException({ statusCode: HttpStatus.TOO_MANY_REQUESTS, message }, HttpStatus.TOO_MANY_REQUESTS);
}

function startOf(request: StreamRequest): FeedCursor | 'now' {
  for (const [field, value] of [['after', request.after], ['Last-Event-ID', request.lastEventId]] as const) {
    if (value !== undefined && typeof value !== 'string') throw new BadRequestException(`${field}: give it once, as text`);
  }
  const given = request.lastEventId?.trim() || request.after?.trim() || 'now';
  if (given === 'now') return 'now';
  if (given === '0') return FEED_START;
  try {
    return parseFeedCursor(given);
  } catch (error) {
    const field = request.lastEventId?.trim() ? 'Last-Event-ID' : 'after';
    throw new BadRequestException(`${field}: ${(error as Error).message}; or 'now', or '0' for the whole table`);
  }
}
