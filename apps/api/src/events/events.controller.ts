import { Controller, DefaultValuePipe, Get, Headers, MessageEvent, ParseIntPipe, Query, Req, Sse } from '@nestjs/common';
import type { Request } from 'express';
import { Observable } from 'rxjs';
import { Authenticated, CurrentPrincipal, Principal } from '@infrabox/auth';
import { ProjectAccess } from '../access/project-access.service';
import { ReadLane } from '../http/read-lane.interceptor';
import { EventConsumerDto, EventConsumersService } from './event-consumers.service';
import { EventStreamService } from './event-stream.service';
import { EventDto, EventsService, MAX_EVENTS_PAGE } from './events.service';

/** The event log: whole for admins; the stream also for users and project tokens, limited to the projects they see. */
@Controller('api/v1')
@ReadLane()
export class EventsController {
  constructor(
    private readonly events: EventsService,
    private readonly stream: EventStreamService,
    private readonly consumers: EventConsumersService,
    private readonly access: ProjectAccess,
  ) {}

  /** `GET /api/v1/events?after=<id>&type=<type or channel>&limit=<n>`: events ordered by id, at most 1000 (admins). */
  @Get('events')
  @Authenticated('admin')
  recent(
    @Query('after', new DefaultValuePipe('0')) after: string,
    @Query('type') type: string | undefined,
    @Query('limit', new DefaultValuePipe(100), ParseIntPipe) limit: number,
  ): Promise<EventDto[]> {
    return this.events.recent(after, type, Math.min(limit, MAX_EVENTS_PAGE));
  }

  /** `GET /api/v1/events/consumers`: every durable consumer, when it was last seen, and whether it is gone past the retention. */
  @Get('events/consumers')
  @Authenticated('admin')
  consumerList(): Promise<EventConsumerDto[]> {
    return this.consumers.list();
  }

  /**
   * `GET /api/v1/events/stream?after=now|0|<cursor>&type=<type or channel>`: server-sent events.
   * `events` messages carry a list of events and the cursor as their id; `ready` follows the
   * first catch-up. Every committed event comes once, however late its transaction commits.
   */
  @Sse('events/stream')
  @Authenticated('user', 'project', 'admin')
  async live(
    @Query('after') after: string | undefined,
    @Query('type') type: string | undefined,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() request: Request,
    @CurrentPrincipal() principal: Principal,
  ): Promise<Observable<MessageEvent>> {
    const projectIds = await this.access.visibleProjectIds(principal);
    return this.stream.open({ after, type, lastEventId, client: request.socket.remoteAddress ?? 'unknown', projectIds });
  }
}
