import { Module } from '@nestjs/common';
import { EventsController } from './events.controller';
import { EventsService } from './events.service';

/** `GET /api/v1/events`; EventRepository comes from the global EventsModule. */
@Module({
  controllers: [EventsController],
  providers: [EventsService],
})
export class EventsApiModule {}
