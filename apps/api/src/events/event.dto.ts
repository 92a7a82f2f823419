import type { StoredEvent } from '@infrabox/events';

/** An event as the API shows it (`GET /api/v1/events`, the SSE stream). */
export interface EventDto {
  id: string;
  type: string;
  cluster: string | null;
  payload: unknown;
  createdAt: string | null;
}

export function toEventDto(event: StoredEvent): EventDto {
  return { id: event.id, type: event.type, cluster: event.cluster, payload: event.payload, createdAt: event.createdAt?.toISOString() ?? null };
}
