import { EventType, EVENT_SCOPES, PayloadOf, ScopeOf } from './event.catalogue';
import { EventRepository } from './event.repository';
import { assertEventType, ClusterScoped } from './event.types';

/** NOTIFY carries at most 8000 bytes; events name what changed, they never carry blobs. */
export const MAX_EVENT_PAYLOAD_BYTES = 4_000;

/** What `emit` takes for a type: the payload, wrapped by `forCluster(cluster, payload)` when the type is cluster-scoped. */
export type EmitArg<T extends EventType> = ScopeOf<T> extends 'cluster' ? ClusterScoped<PayloadOf<T>> : PayloadOf<T>;

/**
 * Writes events: `client.emit(JOB_FINISHED, { ... })` inserts an event row — in the caller's
 * transaction when `Database.transaction()` is running — whose trigger NOTIFYs channel
 * `job_finished`; a cluster-scoped type takes `forCluster('worker-1', payload)`. The catalogue
 * (event.catalogue.ts) types both: a wrong payload or scope does not compile. Await it before the
 * transaction ends.
 */
export class PgEventClient {
  constructor(private readonly events: EventRepository) {}

  /** One event of the catalogue; resolves to its id. */
  async emit<T extends EventType>(type: T, item: EmitArg<T>): Promise<string> {
    return this.emitAny(type, checkedScope(type, item));
  }

  /** Many events of one type in one statement — for the moments that produce many at once. */
  async emitBatch<T extends EventType>(type: T, items: ReadonlyArray<EmitArg<T>>): Promise<string[]> {
    return this.emitAnyBatch(type, items.map((item) => checkedScope(type, item)));
  }

  /**
   * An event of any type, outside the catalogue: for the transport's own tests and benchmarks.
   * The apps emit only catalogued events.
   */
  async emitAny(type: string, item: unknown): Promise<string> {
    assertEventType(type);
    const row = toRow(type, item);
    return this.events.insert(type, row.cluster, row.payload);
  }

  async emitAnyBatch(type: string, items: readonly unknown[]): Promise<string[]> {
    assertEventType(type);
    return this.events.insertMany(type, items.map((item) => toRow(type, item)));
  }
}

/** The compiler checks the scope; this catches what reaches it past the types (an `any`). */
function checkedScope<T extends EventType>(type: T, item: EmitArg<T>): EmitArg<T> {
  const scoped = item instanceof ClusterScoped;
  if (scoped !== (EVENT_SCOPES[type] === 'cluster')) {
    throw new Error(`event '${type}' is ${EVENT_SCOPES[type] === 'cluster' ? 'scoped to a cluster: emit forCluster(cluster, payload)' : 'installation-wide: emit its payload, not forCluster(...)'}`);
  }
  return item;
}

function toRow(type: string, item: unknown): { cluster: string | null; payload: unknown } {
  const scoped = item instanceof ClusterScoped ? item : null;
  const payload = scoped ? scoped.data : item;
  const size = Buffer.byteLength(JSON.stringify(payload ?? null));
  if (size > MAX_EVENT_PAYLOAD_BYTES) {
    throw new Error(`event '${type}': payload is ${size} bytes, the limit is ${MAX_EVENT_PAYLOAD_BYTES}; store the data and send its id`);
  }
  return { cluster: scoped?.cluster ?? null, payload };
}
