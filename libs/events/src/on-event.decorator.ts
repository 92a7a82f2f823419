import { EventPattern } from '@nestjs/microservices';
import { EventType, PayloadOf } from './event.catalogue';

/**
 * Marks a handler of a catalogued event: `@OnEvent(JOB_FINISHED) onFinished(@Payload() event: JobFinishedEvent)`.
 * A handler whose payload parameter does not fit the type's payload does not compile. The
 * transport (PgEventServer) delivers it as an `@EventPattern` handler.
 */
export function OnEvent<T extends EventType>(type: T) {
  return <H extends (payload: PayloadOf<T>) => unknown>(target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<H>): void => {
    EventPattern(type)(target, key, descriptor);
  };
}
