/** A row of the `event` table as the handlers see it. */
export interface StoredEvent<T = unknown> {
  id: string;
  /** The id of the transaction that wrote the event (xid8), as a decimal string. */
  txId: string;
  type: string;
  cluster: string | null;
  payload: T;
  createdAt?: Date;
}

/** Event types look like `job.finished`; PostgreSQL channels are identifiers, so dots become underscores. */
export function channelOf(type: string): string {
  return type.replace(/\./g, '_');
}

/** PostgreSQL truncates (and pg_notify refuses) channel names longer than this. */
const MAX_CHANNEL_BYTES = 63;

/**
 * The channel that carries one cluster's scoped events of a type, `job_placed@worker-1`: a
 * scheduler of 100 clusters then receives its own job.placed notifications, not 100 times as
 * many to throw away. Falls back to the plain channel when the name would be too long (the
 * event_notify() trigger applies the same rule).
 */
export function clusterChannelOf(type: string, cluster: string): string {
  const channel = `${channelOf(type)}@${cluster}`;
  return Buffer.byteLength(channel) <= MAX_CHANNEL_BYTES ? channel : channelOf(type);
}

/** The channel that carries every cluster's scoped events of a type (`job_placed@*`), for readers of all clusters. */
export function everyClusterChannelOf(type: string): string {
  const channel = `${channelOf(type)}@*`;
  return Buffer.byteLength(channel) <= MAX_CHANNEL_BYTES ? channel : channelOf(type);
}

/**
 * Where a consumer listens: the plain channel (unscoped events) and its cluster's channel, or
 * for a reader of every cluster (`cluster` null) the every-cluster channel.
 */
export function channelsFor(type: string, cluster: string | null): string[] {
  const scoped = cluster === null ? everyClusterChannelOf(type) : clusterChannelOf(type, cluster);
  return [...new Set([channelOf(type), scoped])];
}

const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/;

export function assertEventType(type: string): void {
  if (!EVENT_TYPE.test(type) || Buffer.byteLength(type) > 63) {
    throw new Error(`event type '${type}': must be lower-case words joined by dots, at most 63 bytes`);
  }
}

/** Wraps an event's data so it is delivered only to consumers of one cluster (and to unfiltered ones). */
export class ClusterScoped<T = unknown> {
  constructor(
    readonly cluster: string,
    readonly data: T,
  ) {}
}

export function forCluster<T>(cluster: string, data: T): ClusterScoped<T> {
  return new ClusterScoped(cluster, data);
}
