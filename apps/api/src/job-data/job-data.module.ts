import { Module } from '@nestjs/common';
import { JobsModule } from '@infrabox/jobs';
import { JobDataController } from './job-data.controller';
import { JobDataService } from './job-data.service';

@Module({
  imports: [JobsModule],
  controllers: [JobDataController],
  providers: [JobDataService],
})
export class JobDataModule {}
