export {
  inputFolder,
  JOB_VIEW,
  SANDBOX_LAYOUT,
  SANDBOX_ROOT,
  sandboxEnvironment,
  sandboxFolders,
  UPLOAD_KINDS,
  type SandboxFolder,
  type SandboxFolders,
} from './job-sandbox.layout';
export { EMPTY_OUTPUT_REPORT, EMPTY_OUTPUT_SHA256, parseOutputReport, type OutputReport } from './output-report';
export { SandboxStaging, type OutputSink, type StagedArchive } from './sandbox.staging';
export { jobEnvironment, SandboxError } from './job-environment';
