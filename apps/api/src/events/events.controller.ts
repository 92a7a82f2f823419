import { Controller, DefaultValuePipe, Get, ParseIntPipe, Query } from '@nestjs/common';
import { EventDto, EventsService, MAX_EVENTS_PAGE } from './events.service';

// Open like the builds routes for now (authentication comes with the data endpoints).
@Controller('api/v1')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  /** `GET /api/v1/events?after=<id>&type=<type or channel>&limit=<n>`: events ordered by id, at most 1000. */
  @Get('events')
  recent(
    @Query('after', new DefaultValuePipe('0')) after: string,
    @Query('type') type: string | undefined,
    @Query('limit', new DefaultValuePipe(100), ParseIntPipe) limit: number,
  ): Promise<EventDto[]> {
    return this.events.recent(after, type, Math.min(limit, MAX_EVENTS_PAGE));
  }
}
