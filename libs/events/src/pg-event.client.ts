import { ClientProxy, ReadPacket, WritePacket } from '@nestjs/microservices';
import { EventRepository } from './event.repository';
import { assertEventType, ClusterScoped } from './event.types';

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

  protected async dispatchEvent<T = string>(packet: ReadPacket): Promise<T> {
    const type = this.normalizePattern(packet.pattern);
    assertEventType(type);
    const scoped = packet.data instanceof ClusterScoped ? packet.data : null;
    const data = scoped ? scoped.data : packet.data;
    const size = Buffer.byteLength(JSON.stringify(data ?? null));
    if (size > MAX_EVENT_PAYLOAD_BYTES) {
      throw new Error(
        `event '${type}': payload is ${size} bytes, the limit is ${MAX_EVENT_PAYLOAD_BYTES}; store the data and send its id`,
      );
    }
    return (await this.events.insert(type, scoped?.cluster ?? null, data)) as T;
  }

  protected publish(_packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    callback({ err: new Error('events are fire-and-forget: use emit(), not send()'), isDisposed: true });
    return () => undefined;
  }
}
