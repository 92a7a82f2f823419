export { JobsModule } from './jobs.module';
export { ProjectRepository } from './project.repository';
export { BuildRepository } from './build.repository';
export { JobRepository } from './job.repository';
export type { NewDependency, TransitionFields } from './job.repository';
export { JobConsoleRepository } from './job-console.repository';
export type { ConsoleChunk } from './job-console.repository';
export * from './job.events';
export * from './job.types';
