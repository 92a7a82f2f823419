import path from 'node:path';
import type { V1Container, V1EnvVar, V1Job, V1ResourceRequirements, V1Secret, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { KubernetesExecutorConfig } from '@infrabox/config';
import type { DockerJob } from '@infrabox/job-definition';
import { JOB_VIEW, jobEnvironment, SandboxError } from '@infrabox/job-sandbox';
import type { Job, ParentLink } from '@infrabox/jobs';
import { buildPaths } from '../container/docker-build.paths';

/** Labels every object of a job carries; the executor watches and re-attaches by them. */
export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  jobId: 'infrabox.net/job-id',
  buildId: 'infrabox.net/build-id',
  cluster: 'infrabox.net/cluster',
} as const;

/** Container names in a job's pod (`build` only in the pods of `docker` jobs). */
export const CONTAINERS = { fetch: 'fetch-inputs', build: 'build-image', job: 'job', upload: 'upload-output' } as const;

/** BuildKit, rootless: builds a `docker` job's image in its pod and pushes it to this cluster's registry. */
export const BUILDKIT_IMAGE = 'moby/buildkit:rootless';
/** The user the rootless BuildKit image is made for (its uid cannot change without rebuilding it). */
const BUILDKIT_USER = 1000;
/** BuildKit's state in its image: on an emptyDir, as BuildKit's Kubernetes examples do (some nodes mount the image's VOLUME nosuid). */
const BUILDKIT_STATE = '/home/user/.local/share/buildkit';
/** Where the build container finds the registry credentials (`config.json`, from the job's registry Secret). */
const BUILDKIT_DOCKER_CONFIG = '/home/user/.docker';
/** The key of a `kubernetes.io/dockerconfigjson` Secret. */
const DOCKER_CONFIG_KEY = '.dockerconfigjson';

/** The emptyDir every container of the pod mounts, and the job's folders in it. */
export const POD_ROOT = JOB_VIEW.root;
/** Written by the job container when its command has ended; the upload container waits for it. */
export const EXIT_FILE = `${POD_ROOT}/.exit`;

/** The in-pod agent (apps/agent) inside the InfraBox image (deploy/Dockerfile puts the code in /app). */
const AGENT = ['node', '/app/dist/apps/agent/src/main.js'];

/**
 * Runs the job's command, then records its exit code for the upload container — whatever the
 * command did, so the output is uploaded after a failure too — and exits with that code.
 */
const WRAPPER = `"$@"; code=$?; echo "$code" > ${EXIT_FILE}; exit "$code"`;

export function kubernetesJobName(jobId: string): string {
  return `infrabox-${jobId}`;
}

/** The Secret with a `docker` job's registry credentials (the build pushes with it, the kubelet pulls with it). */
export function registryAuthSecretName(jobId: string): string {
  return `infrabox-${jobId}-registry`;
}

/** The Secret with the job token of a job's data steps (never a plain value in the pod spec). */
export function jobTokenSecretName(jobId: string): string {
  return `infrabox-${jobId}-token`;
}

/** Where the data steps (fetch-inputs, upload-output) read the job token: `$INFRABOX_TOKEN_FILE`. */
export const JOB_TOKEN_DIR = '/var/run/secrets/infrabox';
const JOB_TOKEN_KEY = 'token';

/** Where a `docker` job's image goes: this cluster's registry. */
export interface ImageBuild {
  /** `<registry>/<project>/<job name>:build_<number>` (builtImageName). */
  image: string;
  /** host[:port] of this cluster's registry, as the image name starts. */
  registryHost: string;
  /** The registry speaks plain HTTP (a local or test registry): BuildKit is told to push without TLS. */
  insecure: boolean;
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
  /** For a `docker` job: the image its build pushes (and its job container then runs). */
  build?: ImageBuild;
  /** For a job that runs the image a parent built (`"image": {"job": …}`): that image in this cluster's registry, by digest. */
  builtImage?: string;
}

export class ManifestError extends Error {}

/**
 * The batch/v1 Job that runs one InfraBox job: an init container (the InfraBox image) fetches
 * the build's source and the parents' outputs into the shared emptyDir; the job container runs
 * the job's command in its image; the upload container waits for the command's exit file and
 * stores `/infrabox/output`, reporting size and sha256 as its termination message.
 *
 * A `docker` job's pod builds its image first, in a second init container (rootless BuildKit,
 * from the fetched source, pushed to this cluster's registry with the credentials of the job's
 * registry Secret, see buildRegistryAuthSecret); its job container then runs that image, pulled
 * with the same Secret — or, with `build_only`, there is no job container and the upload stores
 * the (empty) output once the build has succeeded.
 */
export function buildJobManifest(input: JobManifestInput): V1Job {
  const { job, config } = input;
  const definition = job.definition;
  if (definition.type !== 'docker-image' && definition.type !== 'docker') {
    throw new ManifestError(`job '${job.name}' is of type '${definition.type}': the kubernetes executor runs docker-image and docker jobs`);
  }
  const buildOnly = definition.type === 'docker' && definition.buildOnly;
  if (!buildOnly && (!definition.command || definition.command.length === 0)) {
    const docker = definition.type === 'docker' ? ', or "build_only": true to only build and push the image' : '';
    throw new ManifestError(`job '${job.name}' has no command: the kubernetes executor runs a job's "command" (in its image's /bin/sh)${docker}`);
  }
  let image: string;
  if (definition.type === 'docker') {
    if (!input.build) throw new ManifestError(`job '${job.name}': no image name to build (internal: the executor gives one for docker jobs)`);
    image = input.build.image;
  } else if (typeof definition.image === 'string') {
    image = definition.image;
  } else {
    if (!input.builtImage) throw new ManifestError(`job '${job.name}': no image of job '${definition.image.job}' given (internal: the executor finds it in this cluster's registry)`);
    image = input.builtImage;
  }
  const labels = {
    [LABELS.managedBy]: 'infrabox',
    [LABELS.jobId]: job.id,
    [LABELS.buildId]: job.buildId,
    [LABELS.cluster]: input.cluster,
  };
  const mounts: V1VolumeMount[] = [{ name: 'infrabox', mountPath: POD_ROOT }];
  const resources: V1ResourceRequirements = {
    limits: { cpu: String(definition.resources.limits.cpu), memory: `${definition.resources.limits.memory}Mi` },
  };
  // The job token comes from the job's token Secret, mounted into the data steps only: the pod
  // spec (readable by whoever may get pods) holds no token, and the job's own container none.
  const helperEnv: V1EnvVar[] = [
    { name: 'INFRABOX_API', value: config.apiUrl },
    { name: 'INFRABOX_TOKEN_FILE', value: `${JOB_TOKEN_DIR}/${JOB_TOKEN_KEY}` },
  ];
  const helperMounts: V1VolumeMount[] = [...mounts, { name: 'job-token', mountPath: JOB_TOKEN_DIR, readOnly: true }];
  const fetchArgs = [
    ...(input.hasSource ? ['--source'] : []),
    ...input.parents.flatMap((p) => ['--parent', `${p.parentId}=${p.parentName}`]),
  ];
  const fetch: V1Container = {
    name: CONTAINERS.fetch,
    image: config.helperImage,
    command: [...AGENT, 'fetch-inputs', job.id, '--dir', POD_ROOT, ...fetchArgs],
    env: helperEnv,
    volumeMounts: helperMounts,
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  const main: V1Container = {
    name: CONTAINERS.job,
    image,
    ...(definition.type === 'docker' && { imagePullPolicy: 'Always' }), // the tag of this build, pushed moments ago
    command: ['/bin/sh', '-c', WRAPPER, 'infrabox-job', ...(definition.command ?? [])],
    workingDir: JOB_VIEW.context,
    env: podEnvironment(job, input.env),
    resources,
    volumeMounts: mounts,
  };
  const upload: V1Container = {
    name: CONTAINERS.upload,
    image: config.helperImage,
    command: [
      ...AGENT, 'upload-output', job.id, '--dir', POD_ROOT,
      // Without a job container nothing writes the exit file: the init containers (the build) have ended well.
      ...(buildOnly ? [] : ['--wait-for', EXIT_FILE]),
      '--result', '/dev/termination-log',
    ],
    env: helperEnv,
    volumeMounts: helperMounts,
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  const volumes: V1Volume[] = [
    { name: 'infrabox', emptyDir: {} },
    // Created right after the Job (owned by it); the kubelet waits for it before the pod starts.
    { name: 'job-token', secret: { secretName: jobTokenSecretName(job.id), defaultMode: 0o400, items: [{ key: JOB_TOKEN_KEY, path: JOB_TOKEN_KEY }] } },
  ];
  const initContainers = [fetch];
  if (definition.type === 'docker') {
    initContainers.push(buildContainer(job, definition, input.build!, resources));
    volumes.push(
      { name: 'buildkit', emptyDir: {} },
      { name: 'registry-auth', secret: { secretName: registryAuthSecretName(job.id), items: [{ key: DOCKER_CONFIG_KEY, path: 'config.json' }] } },
    );
  }
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: kubernetesJobName(job.id), namespace: config.namespace, labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: definition.timeoutSeconds,
      ttlSecondsAfterFinished: config.ttlSecondsAfterFinished,
      template: {
        metadata: {
          labels,
          // Clusters before Kubernetes 1.30 read AppArmor from this annotation; later ones from the securityContext (the two agree).
          ...(definition.type === 'docker' && { annotations: { [`container.apparmor.security.beta.kubernetes.io/${CONTAINERS.build}`]: 'unconfined' } }),
        },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          ...(((definition.type === 'docker' && !buildOnly) || input.builtImage) && { imagePullSecrets: [{ name: registryAuthSecretName(job.id) }] }),
          volumes,
          initContainers,
          containers: buildOnly ? [upload] : [main, upload],
        },
      },
    },
  };
}

/**
 * The init container that builds a `docker` job's image with rootless BuildKit
 * (`buildctl-daemonless.sh`, BuildKit's daemon for one build) from the fetched source, and
 * pushes it. Unconfined seccomp and AppArmor, as rootless BuildKit needs to make its user
 * namespace; no process sandbox of its own (--oci-worker-no-process-sandbox), so it needs no
 * privileges.
 */
function buildContainer(job: Job, definition: DockerJob, build: ImageBuild, resources: V1ResourceRequirements): V1Container {
  const paths = buildPaths(JOB_VIEW.context, definition);
  if ('error' in paths) throw new ManifestError(paths.error);
  const dockerfile = path.posix.join(paths.context, paths.dockerfile);
  const output = ['type=image', `name=${build.image}`, 'push=true', ...(build.insecure ? ['registry.insecure=true'] : [])].join(',');
  return {
    name: CONTAINERS.build,
    image: BUILDKIT_IMAGE,
    command: ['buildctl-daemonless.sh'],
    args: [
      'build',
      '--progress', 'plain',
      '--frontend', 'dockerfile.v0',
      '--local', `context=${paths.context}`,
      '--local', `dockerfile=${path.posix.dirname(dockerfile)}`,
      '--opt', `filename=${path.posix.basename(dockerfile)}`,
      ...(definition.target !== undefined ? ['--opt', `target=${definition.target}`] : []),
      ...Object.entries(definition.buildArguments).flatMap(([name, value]) => ['--opt', `build-arg:${name}=${value}`]),
      '--output', output,
    ],
    env: [
      { name: 'BUILDKITD_FLAGS', value: '--oci-worker-no-process-sandbox' },
      { name: 'DOCKER_CONFIG', value: BUILDKIT_DOCKER_CONFIG },
    ],
    resources,
    securityContext: {
      runAsUser: BUILDKIT_USER,
      runAsGroup: BUILDKIT_USER,
      seccompProfile: { type: 'Unconfined' },
      appArmorProfile: { type: 'Unconfined' },
    },
    volumeMounts: [
      { name: 'infrabox', mountPath: POD_ROOT, readOnly: true },
      { name: 'buildkit', mountPath: BUILDKIT_STATE },
      { name: 'registry-auth', mountPath: BUILDKIT_DOCKER_CONFIG, readOnly: true },
    ],
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

/**
 * A `docker` job's registry credentials as a `kubernetes.io/dockerconfigjson` Secret: the job's
 * token as the password for this cluster's registry (its token service takes Basic auth with any
 * user name and an InfraBox token as password). The build mounts it as its `config.json`, the
 * kubelet pulls the job's image with it (imagePullSecrets). Owned by the Kubernetes Job, so
 * Kubernetes deletes it with the Job.
 */
export function buildRegistryAuthSecret(input: {
  jobId: string;
  namespace: string;
  labels: Record<string, string>;
  registryHost: string;
  token: string;
  owner: { name: string; uid: string };
}): V1Secret {
  const auth = Buffer.from(`infrabox:${input.token}`).toString('base64');
  const config = { auths: { [input.registryHost]: { auth } } };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: registryAuthSecretName(input.jobId),
      namespace: input.namespace,
      labels: input.labels,
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: input.owner.name, uid: input.owner.uid }],
    },
    type: 'kubernetes.io/dockerconfigjson',
    data: { [DOCKER_CONFIG_KEY]: Buffer.from(JSON.stringify(config)).toString('base64') },
  };
}

/**
 * The job token of a job's data steps as an Opaque Secret (key `token`), mounted at
 * {@link JOB_TOKEN_DIR} into fetch-inputs and upload-output. Owned by the Kubernetes Job, so
 * Kubernetes deletes it with the Job.
 */
export function buildJobTokenSecret(input: { jobId: string; namespace: string; labels: Record<string, string>; token: string; owner: { name: string; uid: string } }): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: jobTokenSecretName(input.jobId),
      namespace: input.namespace,
      labels: input.labels,
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: input.owner.name, uid: input.owner.uid }],
    },
    type: 'Opaque',
    data: { [JOB_TOKEN_KEY]: Buffer.from(input.token).toString('base64') },
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
