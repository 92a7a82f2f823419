import { Injectable, OnModuleInit } from '@nestjs/common';
import { PgEventServer, StoredEvent } from '@infrabox/events';
import { LogFields, withLogFields } from './log-context';

/** The ids of the job and build an event is about, as its payload names them. */
const PAYLOAD_IDS = ['jobId', 'buildId'] as const;

export function eventLogFields(event: StoredEvent): LogFields {
  const fields: Record<string, string> = { eventId: event.id, pattern: event.type };
  const payload = event.payload as Record<string, unknown> | null;
  if (payload && typeof payload === 'object') {
    for (const key of PAYLOAD_IDS) if (typeof payload[key] === 'string') fields[key] = payload[key] as string;
  }
  return fields;
}

/** Every log line written while a handler runs names the event, its pattern, and its job and build. */
@Injectable()
export class EventLogContext implements OnModuleInit {
  constructor(private readonly server: PgEventServer) {}

  onModuleInit(): void {
    this.server.addDispatchWrapper((event, handle) => withLogFields(eventLogFields(event), handle));
  }
}
