import { BaseRpcContext } from '@nestjs/microservices';
import { StoredEvent } from './event.types';

/** `@Ctx() ctx: PgEventContext` gives a handler the event's id, cluster and time. */
export class PgEventContext extends BaseRpcContext<[StoredEvent]> {
  get event(): StoredEvent {
    return this.args[0];
  }
}
