import { ClientProxy, ReadPacket, WritePacket } from '@nestjs/microservices';
import { EventRepository } from './event.repository';
import { assertEventType, ClusterScoped } from './event.types';

function toRow(type: string, item: unknown): { cluster: string | null; payload: unknown } {
  const scoped = item instanceof ClusterScoped ? item : null;
  const payload = scoped ? scoped.data : item;
  const size = Buffer.byteLength(JSON.stringify(payload ?? null));
  if (size > MAX_EVENT_PAYLOAD_BYTES) {
    throw new Error(`event '${type}': payload is ${size} bytes, the limit is ${MAX_EVENT_PAYLOAD_BYTES}; store the data and send its id`);
  }
  return { cluster: scoped?.cluster ?? null, payload };
}

/** NOTIFY carries at most 8000 bytes; events name what changed, they never carry blobs. */
export const MAX_EVENT_PAYLOAD_BYTES = 4_000;

/**
 * `client.emit('job.finished', { jobId })` writes an event row — in the caller's transaction
 * when `Database.transaction()` is running — whose trigger NOTIFYs channel `job_finished`.
 * `emit(type, forCluster('worker-1', data))` scopes it to one cluster's consumers.
 * Await it (`await lastValueFrom(client.emit(...))`) before the transaction ends.
 */
export class PgEventClient extends ClientProxy {
  constructor(private readonly events: EventRepository) {
    super();
  }

  async connect(): Promise<void> {}

  async close(): Promise<void> {}

  unwrap<T>(): T {
    return this.events as T;
  }

  /** Emits many events of one type in one statement — for the moments that produce many at once. */
  async emitBatch(type: string, items: readonly unknown[]): Promise<string[]> {
    assertEventType(type);
    return this.events.insertMany(type, items.map((item) => toRow(type, item)));
  }

  protected async dispatchEvent<T = string>(packet: ReadPacket): Promise<T> {
    const type = this.normalizePattern(packet.pattern);
    assertEventType(type);
    const row = toRow(type, packet.data);
    return (await this.events.insert(type, row.cluster, row.payload)) as T;
  }

  protected publish(_packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    callback({ err: new Error('events are fire-and-forget: use emit(), not send()'), isDisposed: true });
    return () => undefined;
  }
}
