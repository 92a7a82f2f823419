import { BadRequestException, Injectable } from '@nestjs/common';
import { EventRepository } from '@infrabox/events';

export interface EventDto {
  id: string;
  type: string;
  cluster: string | null;
  payload: unknown;
  createdAt: string | null;
}

export const MAX_EVENTS_PAGE = 1000;

/** Reads the event log for inspection (`infrabox events`). */
@Injectable()
export class EventsService {
  constructor(private readonly events: EventRepository) {}

  async recent(after: string, type: string | undefined, limit: number): Promise<EventDto[]> {
    if (!/^\d{1,18}$/.test(after)) throw new BadRequestException(`after must be an event id (a non-negative integer), not '${after}'`);
    const wanted = type === undefined || type.trim() === '' ? null : type.trim();
    if (wanted !== null && !/^[a-z0-9_.]{1,63}$/.test(wanted)) {
      throw new BadRequestException(`type must be an event type (job.finished) or its channel (job_finished), not '${wanted}'`);
    }
    const rows = await this.events.recent(after, wanted, Math.min(Math.max(limit, 1), MAX_EVENTS_PAGE));
    return rows.map((e) => ({ id: e.id, type: e.type, cluster: e.cluster, payload: e.payload, createdAt: e.createdAt?.toISOString() ?? null }));
  }
}
