import { Global, Module } from '@nestjs/common';
import { ArtifactCopyRepository } from './artifact-copy.repository';
import { BuildRepository } from './build.repository';
import { JobImageRepository } from './job-image.repository';
import { CopyRecorder } from './copy-recorder.service';
import { JobConsoleRepository } from './job-console.repository';
import { JobExecutionRepository } from './job-execution.repository';
import { JobPlacementRepository } from './job-placement.repository';
import { JobRepository } from './job.repository';
import { JobStatsRepository } from './job-stats.repository';
import { JobTransitionRepository } from './job-transition.repository';
import { JobTransitions } from './job-transitions.service';
import { ProjectMemberRepository } from './project-member.repository';
import { ProjectRepository } from './project.repository';
import { SchedulerRunnerRepository } from './scheduler-runner.repository';

@Global()
@Module({
  providers: [ProjectRepository, BuildRepository, JobRepository, JobPlacementRepository, JobExecutionRepository, JobTransitionRepository, JobStatsRepository, JobConsoleRepository, JobTransitions, ArtifactCopyRepository, JobImageRepository, CopyRecorder, SchedulerRunnerRepository, ProjectMemberRepository],
  exports: [ProjectRepository, BuildRepository, JobRepository, JobPlacementRepository, JobExecutionRepository, JobTransitionRepository, JobStatsRepository, JobConsoleRepository, JobTransitions, ArtifactCopyRepository, JobImageRepository, CopyRecorder, SchedulerRunnerRepository, ProjectMemberRepository],
})
export class JobsModule {}
