import { Module } from '@nestjs/common';
import { JobsModule } from '@infrabox/jobs';
import { SourceUploadsController } from './source-uploads.controller';
import { SourceUploadRepository } from './source-upload.repository';
import { SourceUploadsService } from './source-uploads.service';

@Module({
  imports: [JobsModule],
  controllers: [SourceUploadsController],
  providers: [SourceUploadRepository, SourceUploadsService],
  exports: [SourceUploadsService],
})
export class SourcesModule {}
