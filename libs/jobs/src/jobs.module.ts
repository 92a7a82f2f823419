import { Global, Module } from '@nestjs/common';
import { BuildRepository } from './build.repository';
import { JobConsoleRepository } from './job-console.repository';
import { JobRepository } from './job.repository';
import { ProjectRepository } from './project.repository';

@Global()
@Module({
  providers: [ProjectRepository, BuildRepository, JobRepository, JobConsoleRepository],
  exports: [ProjectRepository, BuildRepository, JobRepository, JobConsoleRepository],
})
export class JobsModule {}
