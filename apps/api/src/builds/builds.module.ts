import { Module } from '@nestjs/common';
import { JobsModule } from '@infrabox/jobs';
import { SourcesModule } from '../sources/sources.module';
import { BuildsController } from './builds.controller';
import { BuildsService } from './builds.service';
import { JobsService } from './jobs.service';

@Module({
  imports: [JobsModule, SourcesModule],
  controllers: [BuildsController],
  providers: [BuildsService, JobsService],
  exports: [BuildsService],
})
export class BuildsModule {}
