import { Module } from '@nestjs/common';
import { JobsModule } from '@infrabox/jobs';
import { SourceUploadsController } from './source-uploads.controller';
import { SourceUploadsService } from './source-uploads.service';

@Module({
  imports: [JobsModule],
  controllers: [SourceUploadsController],
  providers: [SourceUploadsService],
  exports: [SourceUploadsService],
})
export class SourcesModule {}
