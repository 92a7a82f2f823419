/*
 * The API's contract: its routes, headers, answers (DTOs) and final job states, one definition of
 * each, used by the api, the CLI, the output-forwarder and the in-pod agent.
 */
export { ROUTES } from './routes';
export { HEADERS, TAR_CONTENT_TYPE } from './headers';
export { FINAL_STATES, isFinal, JOB_STATES } from './job-states';
export type { FinalJobState, JobState } from './job-states';
export type { BuildDto, BuildState, BuildSummaryDto, ConsoleChunkDto, JobDto } from './build.dto';
export type { ClusterDto, ReachabilityDto } from './cluster.dto';
export type { EventDto } from './event.dto';
export type { StoredOutputDto } from './job-data.dto';
export type { DeviceLoginDto, LoginConfigDto, LoginDto, LoginPendingDto } from './login.dto';
export type { ProjectMemberDto } from './project-member.dto';
export type { SourceUploadDto } from './source-upload.dto';
