/** Types of a validated `infrabox.json` (version 1), fields camelCased, defaults applied. */

export const DEPENDENCY_CONDITIONS = ['finished', 'error', 'failure', 'unstable', '*'] as const;
export type DependencyCondition = (typeof DEPENDENCY_CONDITIONS)[number];

/** The parent must end in one of `on` (see dependencySatisfied) before the job may start. */
export interface JobDependency {
  job: string;
  on: DependencyCondition[];
}

export interface ClusterRequirement {
  selector: string[];
  prefer?: string;
}

/** `{"$secret": "name"}`: a project secret. */
export interface SecretReference {
  secret: string;
}

/** `{"$vault": ..., "$vault_secret_path": ..., "$vault_secret_key": ...}`: a value read from Vault. */
export interface VaultReference {
  vault: string;
  vaultSecretPath: string;
  vaultSecretKey: string;
}

export type EnvironmentValue = string | SecretReference | VaultReference;
export type Environment = Record<string, EnvironmentValue>;

export interface Resources {
  /** cpu: cores (> 0.3); memory: MiB (integer ≥ 256), InfraBox's floor. */
  limits: { cpu: number; memory: number };
}

export interface RepositoryOptions {
  clone: boolean;
  submodules: boolean;
  fullHistory: boolean;
}

export interface CacheOptions {
  data: boolean;
  image: boolean;
}

export interface SecurityContext {
  privileged: boolean;
}

export interface DockerRegistryDeployment {
  type: 'docker-registry';
  host: string;
  repository: string;
  tag?: string;
  username?: string;
  password?: SecretReference;
}

export type Deployment = DockerRegistryDeployment;

interface JobBase {
  name: string;
  dependsOn: JobDependency[];
  cluster?: ClusterRequirement;
}

/** Fields shared by the job types that run a container. */
export interface RunnableJobBase extends JobBase {
  environment: Environment;
  resources: Resources;
  timeoutSeconds: number;
  repository: RepositoryOptions;
  cache: CacheOptions;
}

/** `"image": {"job": "<parent>"}`: the image a `docker` parent of the same build built. */
export interface JobImageReference {
  job: string;
}

export interface DockerImageJob extends RunnableJobBase {
  type: 'docker-image';
  image: string | JobImageReference;
  /** Absent: the image's own entrypoint/command. */
  command?: string[];
  run: boolean;
  securityContext: SecurityContext;
  deployments: Deployment[];
}

export interface DockerJob extends RunnableJobBase {
  type: 'docker';
  dockerFile: string;
  buildContext?: string;
  buildArguments: Record<string, string>;
  /** The stage of a multi-stage Dockerfile to build (default: the last). */
  target?: string;
  /** InfraBox's default is true: the image is only built (and deployed), not run. */
  buildOnly: boolean;
  command?: string[];
  securityContext: SecurityContext;
  deployments: Deployment[];
}

export interface DockerComposeJob extends RunnableJobBase {
  type: 'docker-compose';
  dockerComposeFile: string;
}

export interface WaitJob extends JobBase {
  type: 'wait';
}

/** A job after workflow expansion (workflow jobs are replaced by the jobs they include). */
export type JobDefinition = DockerImageJob | DockerJob | DockerComposeJob | WaitJob;
export type JobType = JobDefinition['type'] | 'workflow';

export interface BuildDefinition {
  version: 1;
  jobs: JobDefinition[];
}

/** A `workflow` job as written; only exists before expansion. */
export interface WorkflowJob extends JobBase {
  type: 'workflow';
  infraboxFile: string;
}

export type ParsedJob = JobDefinition | WorkflowJob;

/** Final states a parent job can end in. */
export const JOB_END_STATES = ['finished', 'failure', 'error', 'killed', 'skipped', 'unstable'] as const;
export type JobEndState = (typeof JOB_END_STATES)[number];

export interface ParseOptions {
  /** Repository-relative path of the document (default `infrabox.json`); includes resolve against its directory. */
  file?: string;
  /** Returns the text of a repository-relative, normalised path (e.g. `sub/infrabox.json`); may throw. */
  loadInclude?: (path: string) => string;
}
