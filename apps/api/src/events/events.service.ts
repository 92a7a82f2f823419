import { BadRequestException, Injectable } from '@nestjs/common';
import { EventRepository } from '@infrabox/events';
import { EventDto, toEventDto } from './event.dto';

export type { EventDto } from './event.dto';

export const MAX_EVENTS_PAGE = 1000;

/** The `type` parameter: an event type (`job.finished`) or its channel (`job_finished`); empty = all. */
export function typeFilter(type: unknown): string | null {
  if (type !== undefined && typeof type !== 'string') throw new BadRequestException('type: give it once, as text');
  const wanted = type === undefined || type.trim() === '' ? null : type.trim();
  if (wanted !== null && !/^[a-z0-9_.]{1,63}$/.test(wanted)) {
    throw new BadRequestException(`type must be an event type (job.finished) or its channel (job_finished), not '${wanted.slice(0, 80)}'`);
  }
  return wanted;
}

/** Reads the event log for inspection (`infrabox events`). */
@Injectable()
export class EventsService {
  constructor(private readonly events: EventRepository) {}

  async recent(after: unknown, type: unknown, limit: number): Promise<EventDto[]> {
    if (typeof after !== 'string') throw new BadRequestException('after: give it once, as an event id');
    if (!/^\d{1,18}$/.test(after)) throw new BadRequestException(`after must be an event id (a non-negative integer), not '${after.slice(0, 80)}'`);
    const rows = await this.events.recent(after, typeFilter(type), Math.min(Math.max(limit, 1), MAX_EVENTS_PAGE));
    return rows.map(toEventDto);
  }
}
