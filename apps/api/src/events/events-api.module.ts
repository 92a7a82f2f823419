import { Module } from '@nestjs/common';
import { EventsController } from './events.controller';
import { EventStreamService } from './event-stream.service';
import { EventsService } from './events.service';

/** `GET /api/v1/events` and its SSE stream; EventRepository comes from the global EventsModule. */
@Module({
  controllers: [EventsController],
  providers: [EventsService, EventStreamService],
})
export class EventsApiModule {}
