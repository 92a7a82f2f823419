import type { EventDto } from '@infrabox/contract';
import type { StoredEvent } from '@infrabox/events';

export type { EventDto };

export function toEventDto(event: StoredEvent): EventDto {
  return { id: event.id, type: event.type, cluster: event.cluster, payload: event.payload, createdAt: event.createdAt?.toISOString() ?? null };
}
