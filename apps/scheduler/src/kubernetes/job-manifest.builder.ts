import type { V1Container, V1EnvVar, V1Job, V1VolumeMount } from '@kubernetes/client-node';
import type { KubernetesExecutorConfig } from '@infrabox/config';
import { JOB_VIEW, jobEnvironment, SandboxError } from '@infrabox/job-sandbox';
import type { Job, ParentLink } from '@infrabox/jobs';

/** Labels every object of a job carries; the executor watches and re-attaches by them. */
export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  jobId: 'infrabox.net/job-id',
  buildId: 'infrabox.net/build-id',
  cluster: 'infrabox.net/cluster',
} as const;

/** Container names in a job's pod. */
export const CONTAINERS = { fetch: 'fetch-inputs', job: 'job', upload: 'upload-output' } as const;

/** The emptyDir every container of the pod mounts, and the job's folders in it. */
export const POD_ROOT = JOB_VIEW.root;
/** Written by the job container when its command has ended; the upload container waits for it. */
export const EXIT_FILE = `${POD_ROOT}/.exit`;

/** The CLI inside the InfraBox image (deploy/Dockerfile puts the code in /app). */
const HELPER_CLI = ['node', '/app/dist/apps/cli/src/main.js'];

/**
 * Runs the job's command, then records its exit code for the upload container — whatever the
 * command did, so the output is uploaded after a failure too — and exits with that code.
 */
const WRAPPER = `"$@"; code=$?; echo "$code" > ${EXIT_FILE}; exit "$code"`;

export function kubernetesJobName(jobId: string): string {
  return `infrabox-${jobId}`;
}

export interface JobManifestInput {
  job: Job;
  parents: readonly ParentLink[];
  hasSource: boolean;
  /** The job's environment (INFRABOX_*), pod paths already filled in. */
  env: Record<string, string>;
  /** The job token the init and upload containers call this cluster's API with. */
  token: string;
  cluster: string;
  config: KubernetesExecutorConfig;
}

export class ManifestError extends Error {}

/**
 * The batch/v1 Job that runs one InfraBox job: an init container (the InfraBox image) fetches
 * the build's source and the parents' outputs into the shared emptyDir; the job container runs
 * the job's command in its image; the upload container waits for the command's exit file and
 * stores `/infrabox/output`, reporting size and sha256 as its termination message.
 */
export function buildJobManifest(input: JobManifestInput): V1Job {
  const { job, config } = input;
  const definition = job.definition;
  if (definition.type !== 'docker-image') {
    throw new ManifestError(`job '${job.name}' is of type '${definition.type}': the kubernetes executor runs docker-image jobs`);
  }
  if (!definition.command || definition.command.length === 0) {
    throw new ManifestError(`job '${job.name}' has no command: the kubernetes executor runs a job's "command" (in its image's /bin/sh)`);
  }
  const image = definition.image;
  if (typeof image !== 'string') {
    throw new ManifestError(`job '${job.name}' runs the image of job '${image.job}': the kubernetes executor does not run images built by jobs yet`);
  }
  const labels = {
    [LABELS.managedBy]: 'infrabox',
    [LABELS.jobId]: job.id,
    [LABELS.buildId]: job.buildId,
    [LABELS.cluster]: input.cluster,
  };
  const mounts: V1VolumeMount[] = [{ name: 'infrabox', mountPath: POD_ROOT }];
  const helperEnv: V1EnvVar[] = [
    { name: 'INFRABOX_API', value: config.apiUrl },
    { name: 'INFRABOX_TOKEN', value: input.token },
  ];
  const fetchArgs = [
    ...(input.hasSource ? ['--source'] : []),
    ...input.parents.flatMap((p) => ['--parent', `${p.parentId}=${p.parentName}`]),
  ];
  const fetch: V1Container = {
    name: CONTAINERS.fetch,
    image: config.helperImage,
    command: [...HELPER_CLI, 'job', 'fetch-inputs', job.id, '--dir', POD_ROOT, ...fetchArgs],
    env: helperEnv,
    volumeMounts: mounts,
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  const main: V1Container = {
    name: CONTAINERS.job,
    image,
    command: ['/bin/sh', '-c', WRAPPER, 'infrabox-job', ...definition.command],
    workingDir: JOB_VIEW.context,
    env: podEnvironment(job, input.env),
    resources: {
      limits: { cpu: String(definition.resources.limits.cpu), memory: `${definition.resources.limits.memory}Mi` },
    },
    volumeMounts: mounts,
  };
  const upload: V1Container = {
    name: CONTAINERS.upload,
    image: config.helperImage,
    command: [...HELPER_CLI, 'job', 'upload-output', job.id, '--dir', POD_ROOT, '--wait-for', EXIT_FILE, '--result', '/dev/termination-log'],
    env: helperEnv,
    volumeMounts: mounts,
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: kubernetesJobName(job.id), namespace: config.namespace, labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: definition.timeoutSeconds,
      ttlSecondsAfterFinished: config.ttlSecondsAfterFinished,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          volumes: [{ name: 'infrabox', emptyDir: {} }],
          initContainers: [fetch],
          containers: [main, upload],
        },
      },
    },
  };
}

/** The job's environment (job-sandbox's, the same for every executor) as a container's env. */
function podEnvironment(job: Job, infrabox: Record<string, string>): V1EnvVar[] {
  try {
    return Object.entries(jobEnvironment(job.name, job.definition, infrabox)).map(([name, value]) => ({ name, value }));
  } catch (error) {
    if (error instanceof SandboxError) throw new ManifestError(error.message);
    throw error;
  }
}
