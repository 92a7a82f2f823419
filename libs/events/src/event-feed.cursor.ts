/**
 * Where a feed reader stands: every event of a transaction below `horizon` has been read, and so
 * have the events listed in `seenIds` (at or above it). Text form: `<horizon>` or
 * `<horizon>:<id>,<id>,…` — the SSE event id, sent back as `Last-Event-ID` or `?after=`.
 */
export interface FeedCursor {
  horizon: bigint;
  seenIds: string[];
}

/** Above this many ids the text form keeps only the horizon (a reconnect may repeat those events). */
export const MAX_CURSOR_IDS = 500;

const CURSOR = /^(\d{1,20})(?::(\d{1,19}(?:,\d{1,19})*))?$/;

/** The start of the table: every event ever written. */
export const FEED_START: FeedCursor = Object.freeze({ horizon: 0n, seenIds: [] });

/** Parses a cursor's text form; throws an Error naming the problem. */
export function parseFeedCursor(text: string): FeedCursor {
  const match = CURSOR.exec(text.trim());
  if (!match) throw new Error(`'${text.slice(0, 40)}' is not a feed position (<horizon> or <horizon>:<id>,<id>…, as the stream's event ids give)`);
  const seenIds = match[2] ? [...new Set(match[2].split(','))] : [];
  if (seenIds.length > MAX_CURSOR_IDS) throw new Error(`a feed position lists at most ${MAX_CURSOR_IDS} event ids, not ${seenIds.length}`);
  return { horizon: BigInt(match[1]), seenIds };
}

export function formatFeedCursor(cursor: FeedCursor): string {
  if (cursor.seenIds.length === 0 || cursor.seenIds.length > MAX_CURSOR_IDS) return cursor.horizon.toString();
  return `${cursor.horizon}:${cursor.seenIds.join(',')}`;
}
