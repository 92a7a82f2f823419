import { Global, Module } from '@nestjs/common';
import { BuildRepository } from './build.repository';
import { JobConsoleRepository } from './job-console.repository';
import { JobOutputRepository } from './job-output.repository';
import { JobRepository } from './job.repository';
import { JobTransitions } from './job-transitions.service';
import { ProjectRepository } from './project.repository';

@Global()
@Module({
  providers: [ProjectRepository, BuildRepository, JobRepository, JobConsoleRepository, JobTransitions, JobOutputRepository],
  exports: [ProjectRepository, BuildRepository, JobRepository, JobConsoleRepository, JobTransitions, JobOutputRepository],
})
export class JobsModule {}
