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
