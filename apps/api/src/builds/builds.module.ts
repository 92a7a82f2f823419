import { Module } from '@nestjs/common';
import { JobsModule } from '@infrabox/jobs';
import { EventsApiModule } from '../events/events-api.module';
import { SourcesModule } from '../sources/sources.module';
import { BuildsController } from './builds.controller';
import { BuildsService } from './builds.service';
import { JobsService } from './jobs.service';

@Module({
  // EventsApiModule rides along here (GET /api/v1/events) so api.module.ts stays as it is.
  imports: [JobsModule, SourcesModule, EventsApiModule],
  controllers: [BuildsController],
  providers: [BuildsService, JobsService],
})
export class BuildsModule {}
