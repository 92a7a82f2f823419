import { Module } from '@nestjs/common';
import { EventConsumersService } from './event-consumers.service';
import { EventsController } from './events.controller';
import { EventStreamService } from './event-stream.service';
import { EventsService } from './events.service';
import { EventVisibilityRepository } from './event-visibility.repository';
import { EventVisibility } from './event-visibility.service';

/** `GET /api/v1/events`, its SSE stream and `GET /api/v1/events/consumers`; EventRepository comes from the global EventsModule. */
@Module({
  controllers: [EventsController],
  providers: [EventsService, EventStreamService, EventConsumersService, EventVisibility, EventVisibilityRepository],
})
export class EventsApiModule {}
