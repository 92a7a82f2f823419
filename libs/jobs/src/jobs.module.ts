import { Global, Module } from '@nestjs/common';
import { BuildSourceRepository } from './build-source.repository';
import { BuildRepository } from './build.repository';
import { JobConsoleRepository } from './job-console.repository';
import { JobOutputRepository } from './job-output.repository';
import { JobRepository } from './job.repository';
import { JobTransitions } from './job-transitions.service';
import { ProjectRepository } from './project.repository';

@Global()
@Module({
  providers: [ProjectRepository, BuildRepository, JobRepository, JobConsoleRepository, JobTransitions, JobOutputRepository, BuildSourceRepository],
  exports: [ProjectRepository, BuildRepository, JobRepository, JobConsoleRepository, JobTransitions, JobOutputRepository, BuildSourceRepository],
})
export class JobsModule {}
