import { channelOf, clusterChannelOf, everyClusterChannelOf } from './event.types';

/** An event that alone passes this travels in a batch without its data (read from the table). */
const MAX_BATCHED_EVENT_BYTES = 3_000;
/** NOTIFY refuses 8,000 bytes and more. */
const MAX_BATCH_MESSAGE_BYTES = 7_000;

export interface BatchedEvent {
  cluster: string | null;
  /** What the event_notify() trigger would send for it: id, tx, type, cluster, at, data. */
  message: { data: unknown } & Record<string, unknown>;
}

export interface Notification {
  channel: string;
  text: string;
}

/**
 * The NOTIFY messages that announce a batch of one type's events, written by one transaction
 * (`tx`). On each event's own channel (its cluster's, or the type's for an unscoped event) the
 * events themselves, packed in order into `{"batch": [...]}` messages under 7,000 bytes, an event
 * over 3,000 bytes by id only. On the every-cluster channel one marker `{tx, type, more: true}`:
 * its readers (a dashboard's stream) are few and read the table, while every listening
 * connection of the installation reads every byte queued.
 */
export function batchNotifications(type: string, tx: string, events: readonly BatchedEvent[]): Notification[] {
  const parts = new Map<string, string[][]>();
  const sizes = new Map<string, number>();
  for (const { cluster, message } of events) {
    let text = JSON.stringify(message);
    if (Buffer.byteLength(text) > MAX_BATCHED_EVENT_BYTES) text = JSON.stringify({ ...message, data: undefined });
    const bytes = Buffer.byteLength(text) + 1;
    const channel = cluster === null ? channelOf(type) : clusterChannelOf(type, cluster);
    const list = parts.get(channel) ?? parts.set(channel, [[]]).get(channel)!;
    if ((sizes.get(channel) ?? 0) + bytes > MAX_BATCH_MESSAGE_BYTES - '{"batch":[]}'.length) {
      list.push([]);
      sizes.set(channel, 0);
    }
    list[list.length - 1].push(text);
    sizes.set(channel, (sizes.get(channel) ?? 0) + bytes);
  }
  const notifications = [...parts].flatMap(([channel, lists]) => lists.map((list) => ({ channel, text: `{"batch":[${list.join(',')}]}` })));
  if (events.some((event) => event.cluster !== null)) {
    notifications.push({ channel: everyClusterChannelOf(type), text: JSON.stringify({ tx, type, more: true }) });
  }
  return notifications;
}
