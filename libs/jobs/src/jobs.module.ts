import { Global, Module } from '@nestjs/common';
import { BuildRepository } from './build.repository';
import { JobConsoleRepository } from './job-console.repository';
import { JobRepository } from './job.repository';
import { JobTransitions } from './job-transitions.service';
import { ProjectRepository } from './project.repository';

@Global()
@Module({
  providers: [ProjectRepository, BuildRepository, JobRepository, JobConsoleRepository, JobTransitions],
  exports: [ProjectRepository, BuildRepository, JobRepository, JobConsoleRepository, JobTransitions],
})
export class JobsModule {}
