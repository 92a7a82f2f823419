import type { KubernetesExecutorConfig } from '@infrabox/config';
import type { V1Container, V1Job } from '@kubernetes/client-node';
import type { DockerImageJob, DockerJob } from '@infrabox/job-definition';
import type { Job, ParentLink } from '@infrabox/jobs';
import { builtImageName } from '../images/job-image.names';
import { buildJobManifest, buildJobTokenSecret, buildRegistryAuthSecret, JobManifestInput, ManifestError } from './job-manifest.builder';

const JOB_ID = '11111111-2222-3333-4444-555555555555';
const BUILD_ID = '99999999-8888-7777-6666-555555555555';

const definition: DockerImageJob = {
  type: 'docker-image',
  name: 'test',
  image: 'alpine:3.20',
  command: ['sh', '-c', 'make test'],
  run: true,
  dependsOn: [],
  environment: { GREETING: 'hello', INFRABOX_JOB_ID: 'not this one' },
  resources: { limits: { cpu: 1.5, memory: 2048 } },
  timeoutSeconds: 900,
  repository: { clone: true, submodules: false, fullHistory: false },
  cache: { data: true, image: false },
  securityContext: { privileged: false },
  deployments: [],
};

const job = (overrides: Partial<DockerImageJob> = {}): Job => ({
  id: JOB_ID,
  buildId: BUILD_ID,
  name: 'test',
  type: 'docker-image',
  state: 'running',
  definition: { ...definition, ...overrides },
  cluster: 'worker',
  message: null,
  exitCode: null,
  createdAt: new Date(0),
  startedAt: new Date(0),
  finishedAt: null,
});

const parent = (id: string, name: string): ParentLink => ({
  parentId: id,
  parentName: name,
  parentState: 'finished',
  parentCluster: 'worker',
  on: ['finished'],
  outputSize: 10,
  outputHere: true,
  imageWanted: false,
  imageHere: false,
});

const config: KubernetesExecutorConfig = {
  namespace: 'ci',
  access: { kind: 'in-cluster' },
  helperImage: 'infrabox/infrabox:1.0',
  apiUrl: 'http://infrabox-api.infrabox.svc:8080',
  ttlSecondsAfterFinished: 300,
};

const input = (overrides: Partial<JobManifestInput> = {}): JobManifestInput => ({
  job: job(),
  parents: [parent('aaaaaaaa-0000-0000-0000-000000000001', 'build'), parent('aaaaaaaa-0000-0000-0000-000000000002', 'lint')],
  hasSource: true,
  env: {
    INFRABOX_JOB_ID: JOB_ID,
    INFRABOX_JOB_NAME: 'test',
    INFRABOX_BUILD_ID: BUILD_ID,
    INFRABOX_CLUSTER_NAME: 'worker',
    INFRABOX_OUTPUT: '/infrabox/output',
    INFRABOX_INPUTS: '/infrabox/inputs',
  },
  token: 'the-job-token',
  cluster: 'worker',
  config,
  ...overrides,
});

const labels = {
  'app.kubernetes.io/managed-by': 'infrabox',
  'infrabox.net/job-id': JOB_ID,
  'infrabox.net/build-id': BUILD_ID,
  'infrabox.net/cluster': 'worker',
};
const mounts = [{ name: 'infrabox', mountPath: '/infrabox' }];
const helperMounts = [...mounts, { name: 'job-token', mountPath: '/var/run/secrets/infrabox', readOnly: true }];
const helperEnv = [
  { name: 'INFRABOX_API', value: 'http://infrabox-api.infrabox.svc:8080' },
  { name: 'INFRABOX_TOKEN_FILE', value: '/var/run/secrets/infrabox/token' },
];
const tokenVolume = { name: 'job-token', secret: { secretName: `infrabox-${JOB_ID}-token`, defaultMode: 0o400, items: [{ key: 'token', path: 'token' }] } };

describe('buildJobManifest', () => {
  it('builds the exact Job for a job with inputs, source, environment, limits and a timeout', () => {
    expect(buildJobManifest(input())).toEqual({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: `infrabox-${JOB_ID}`, namespace: 'ci', labels },
      spec: {
        backoffLimit: 0,
        activeDeadlineSeconds: 900,
        ttlSecondsAfterFinished: 300,
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: 'Never',
            automountServiceAccountToken: false,
            volumes: [{ name: 'infrabox', emptyDir: {} }, tokenVolume],
            initContainers: [
              {
                name: 'fetch-inputs',
                image: 'infrabox/infrabox:1.0',
                command: [
                  'node', '/app/dist/apps/agent/src/main.js', 'fetch-inputs', JOB_ID, '--dir', '/infrabox', '--source',
                  '--parent', 'aaaaaaaa-0000-0000-0000-000000000001=build',
                  '--parent', 'aaaaaaaa-0000-0000-0000-000000000002=lint',
                ],
                env: helperEnv,
                volumeMounts: helperMounts,
                terminationMessagePolicy: 'FallbackToLogsOnError',
              },
            ],
            containers: [
              {
                name: 'job',
                image: 'alpine:3.20',
                command: ['/bin/sh', '-c', '"$@"; code=$?; echo "$code" > /infrabox/.exit; exit "$code"', 'infrabox-job', 'sh', '-c', 'make test'],
                workingDir: '/infrabox/context',
                env: [
                  { name: 'GREETING', value: 'hello' },
                  { name: 'INFRABOX_JOB_ID', value: JOB_ID },
                  { name: 'INFRABOX_JOB_NAME', value: 'test' },
                  { name: 'INFRABOX_BUILD_ID', value: BUILD_ID },
                  { name: 'INFRABOX_CLUSTER_NAME', value: 'worker' },
                  { name: 'INFRABOX_OUTPUT', value: '/infrabox/output' },
                  { name: 'INFRABOX_INPUTS', value: '/infrabox/inputs' },
                ],
                resources: { limits: { cpu: '1.5', memory: '2048Mi' } },
                volumeMounts: mounts,
              },
              {
                name: 'upload-output',
                image: 'infrabox/infrabox:1.0',
                command: [
                  'node', '/app/dist/apps/agent/src/main.js', 'upload-output', JOB_ID, '--dir', '/infrabox',
                  '--wait-for', '/infrabox/.exit', '--result', '/dev/termination-log',
                ],
                env: helperEnv,
                volumeMounts: helperMounts,
                terminationMessagePolicy: 'FallbackToLogsOnError',
              },
            ],
          },
        },
      },
    });
  });

  it('puts no token in the pod spec: the data steps read it from the job token Secret, the job container sees none', () => {
    const job = buildJobManifest(input());
    expect(JSON.stringify(job)).not.toContain('the-job-token');
    const spec = job.spec!.template.spec!;
    expect(spec.volumes).toContainEqual(tokenVolume);
    for (const step of [...spec.initContainers!, ...spec.containers].filter((c) => c.name !== 'job')) {
      expect([step.name, step.volumeMounts]).toEqual([step.name, helperMounts]);
    }
    expect(spec.containers.find((c) => c.name === 'job')!.volumeMounts).toEqual(mounts);
    const secret = buildJobTokenSecret({ jobId: JOB_ID, namespace: 'ci', labels, token: 'the-job-token', owner: { name: `infrabox-${JOB_ID}`, uid: 'u-1' } });
    expect(secret).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `infrabox-${JOB_ID}-token`, namespace: 'ci', labels, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: `infrabox-${JOB_ID}`, uid: 'u-1' }] },
      type: 'Opaque',
      data: { token: Buffer.from('the-job-token').toString('base64') },
    });
  });

  it('fetches neither source nor inputs for a job without them', () => {
    const manifest = buildJobManifest(input({ parents: [], hasSource: false }));
    expect(manifest.spec!.template.spec!.initContainers![0].command).toEqual([
      'node', '/app/dist/apps/agent/src/main.js', 'fetch-inputs', JOB_ID, '--dir', '/infrabox',
    ]);
  });

  it('refuses what it cannot run, naming the job and the reason', () => {
    expect(() => buildJobManifest(input({ job: job({ command: undefined }) }))).toThrow(
      new ManifestError(`job 'test' has no command: the kubernetes executor runs a job's "command" (in its image's /bin/sh)`),
    );
    expect(() => buildJobManifest(input({ job: job({ environment: { TOKEN: { secret: 'deploy-key' } } }) }))).toThrow(
      new ManifestError(`job 'test': environment TOKEN refers to a secret, which cannot be passed to a job yet`),
    );
    const compose = { ...job(), type: 'docker-compose' as const, definition: { ...definition, type: 'docker-compose', dockerComposeFile: 'c.yml' } } as unknown as Job;
    expect(() => buildJobManifest(input({ job: compose }))).toThrow(
      new ManifestError(`job 'test' is of type 'docker-compose': the kubernetes executor runs docker-image and docker jobs`),
    );
  });
});

describe('buildJobManifest for a docker job (rootless BuildKit, then the built image)', () => {
  const dockerDefinition: DockerJob = {
    type: 'docker',
    name: 'img',
    dockerFile: 'docker/app.Dockerfile',
    buildContext: 'docker',
    buildArguments: { VERSION: '1.2', GREETING: 'hello world' },
    target: 'runtime',
    buildOnly: false,
    command: ['sh', '-c', 'make test'],
    dependsOn: [],
    environment: { MODE: 'ci' },
    resources: { limits: { cpu: 2, memory: 4096 } },
    timeoutSeconds: 1800,
    repository: { clone: true, submodules: false, fullHistory: false },
    cache: { data: true, image: false },
    securityContext: { privileged: false },
    deployments: [],
  };
  const image = builtImageName('registry.worker.example.com', 'demo', 'img', 7);
  const dockerJob = (overrides: Partial<DockerJob> = {}): Job => ({ ...job(), name: 'img', type: 'docker', definition: { ...dockerDefinition, ...overrides } });
  const build = { image, registryHost: 'registry.worker.example.com', insecure: false };
  const manifest = (overrides: Partial<DockerJob> = {}, buildOverrides: Partial<typeof build> = {}): V1Job =>
    buildJobManifest(input({ job: dockerJob(overrides), build: { ...build, ...buildOverrides } }));
  const pod = (m: V1Job) => m.spec!.template.spec!;
  const container = (m: V1Job, name: string): V1Container | undefined =>
    [...(pod(m).initContainers ?? []), ...pod(m).containers].find((c) => c.name === name);

  it("runs the image a parent built by its digest in this cluster's registry, pulled with the job's registry Secret", () => {
    const built = `registry.worker.example.com/demo/img@sha256:${'a'.repeat(64)}`;
    const m = buildJobManifest(input({ job: job({ image: { job: 'img' } }), builtImage: built }));
    expect(pod(m).containers.find((c) => c.name === 'job')!.image).toBe(built);
    expect(pod(m).imagePullSecrets).toEqual([{ name: `infrabox-${JOB_ID}-registry` }]);
    expect(() => buildJobManifest(input({ job: job({ image: { job: 'img' } }) }))).toThrow(ManifestError);
    expect(pod(buildJobManifest(input())).imagePullSecrets).toBeUndefined();
  });

  it('fetches the source first, then builds in BuildKit from the build context and Dockerfile, with the target and build arguments', () => {
    const m = manifest();
    expect(pod(m).initContainers!.map((c) => c.name)).toEqual(['fetch-inputs', 'build-image']);
    expect(pod(m).initContainers![0].command).toContain('--source');
    const build = container(m, 'build-image')!;
    expect(build.image).toBe('moby/buildkit:rootless');
    expect(build.command).toEqual(['buildctl-daemonless.sh']);
    expect(build.args).toEqual([
      'build',
      '--progress', 'plain',
      '--frontend', 'dockerfile.v0',
      '--local', 'context=/infrabox/context/docker',
      '--local', 'dockerfile=/infrabox/context/docker',
      '--opt', 'filename=app.Dockerfile',
      '--opt', 'target=runtime',
      '--opt', 'build-arg:VERSION=1.2',
      '--opt', 'build-arg:GREETING=hello world',
      '--output', 'type=image,name=registry.worker.example.com/demo/img:build_7,push=true',
    ]);
    expect(build.resources).toEqual({ limits: { cpu: '2', memory: '4096Mi' } });
    expect(build.terminationMessagePolicy).toBe('FallbackToLogsOnError');
  });

  it('finds a Dockerfile in a folder of the context, and builds without target or build arguments when none are given', () => {
    const args = container(manifest({ dockerFile: 'images/Dockerfile', buildContext: undefined, target: undefined, buildArguments: {} }), 'build-image')!.args!;
    expect(args).toEqual([
      'build', '--progress', 'plain', '--frontend', 'dockerfile.v0',
      '--local', 'context=/infrabox/context',
      '--local', 'dockerfile=/infrabox/context/images',
      '--opt', 'filename=Dockerfile',
      '--output', 'type=image,name=registry.worker.example.com/demo/img:build_7,push=true',
    ]);
  });

  it('pushes to a plain-HTTP registry only when told so', () => {
    expect(container(manifest({}, { insecure: true }), 'build-image')!.args!.at(-1)).toBe(
      'type=image,name=registry.worker.example.com/demo/img:build_7,push=true,registry.insecure=true',
    );
  });

  it('runs BuildKit rootless as BuildKit documents it: user 1000, seccomp and AppArmor unconfined, no process sandbox, its state on an emptyDir', () => {
    const m = manifest();
    const build = container(m, 'build-image')!;
    expect(build.securityContext).toEqual({ runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'Unconfined' }, appArmorProfile: { type: 'Unconfined' } });
    expect(build.securityContext!.privileged).toBeUndefined();
    expect(m.spec!.template.metadata!.annotations).toEqual({ 'container.apparmor.security.beta.kubernetes.io/build-image': 'unconfined' });
    expect(build.env).toEqual([
      { name: 'BUILDKITD_FLAGS', value: '--oci-worker-no-process-sandbox' },
      { name: 'DOCKER_CONFIG', value: '/home/user/.docker' },
    ]);
    expect(build.volumeMounts).toEqual([
      { name: 'infrabox', mountPath: '/infrabox', readOnly: true },
      { name: 'buildkit', mountPath: '/home/user/.local/share/buildkit' },
      { name: 'registry-auth', mountPath: '/home/user/.docker', readOnly: true },
    ]);
    expect(pod(m).volumes).toEqual([
      { name: 'infrabox', emptyDir: {} },
      tokenVolume,
      { name: 'buildkit', emptyDir: {} },
      { name: 'registry-auth', secret: { secretName: `infrabox-${JOB_ID}-registry`, items: [{ key: '.dockerconfigjson', path: 'config.json' }] } },
    ]);
  });

  it('gives the registry credentials to the build and the kubelet from the Secret, never as a value in the build container', () => {
    const m = manifest();
    expect(pod(m).imagePullSecrets).toEqual([{ name: `infrabox-${JOB_ID}-registry` }]);
    expect(JSON.stringify(container(m, 'build-image'))).not.toContain('the-job-token');
    expect(JSON.stringify(container(m, 'job'))).not.toContain('the-job-token');
  });

  it('then runs the built image with the job command, environment and limits, pulled afresh', () => {
    const m = manifest();
    expect(pod(m).containers.map((c) => c.name)).toEqual(['job', 'upload-output']);
    expect(container(m, 'job')).toEqual({
      name: 'job',
      image: 'registry.worker.example.com/demo/img:build_7',
      imagePullPolicy: 'Always',
      command: ['/bin/sh', '-c', '"$@"; code=$?; echo "$code" > /infrabox/.exit; exit "$code"', 'infrabox-job', 'sh', '-c', 'make test'],
      workingDir: '/infrabox/context',
      env: expect.arrayContaining([{ name: 'MODE', value: 'ci' }, { name: 'INFRABOX_JOB_ID', value: JOB_ID }]),
      resources: { limits: { cpu: '2', memory: '4096Mi' } },
      volumeMounts: mounts,
    });
    expect(container(m, 'upload-output')!.command).toContain('--wait-for');
  });

  it('with build_only: no job container and no pull secret; the upload stores the output once the build has ended well', () => {
    const m = manifest({ buildOnly: true, command: undefined });
    expect(pod(m).initContainers!.map((c) => c.name)).toEqual(['fetch-inputs', 'build-image']);
    expect(pod(m).containers.map((c) => c.name)).toEqual(['upload-output']);
    expect(pod(m).imagePullSecrets).toBeUndefined();
    expect(container(m, 'upload-output')!.command).toEqual([
      'node', '/app/dist/apps/agent/src/main.js', 'upload-output', JOB_ID, '--dir', '/infrabox', '--result', '/dev/termination-log',
    ]);
  });

  it('refuses a docker job it cannot build or run, naming the reason', () => {
    expect(() => manifest({ command: undefined })).toThrow(
      new ManifestError(`job 'img' has no command: the kubernetes executor runs a job's "command" (in its image's /bin/sh), or "build_only": true to only build and push the image`),
    );
    expect(() => manifest({ buildContext: '..' })).toThrow(new ManifestError("job 'img': build_context '..' is outside the source"));
    expect(() => manifest({ dockerFile: '../Dockerfile' })).toThrow(new ManifestError("job 'img': docker_file '../Dockerfile' must be a file inside the build context 'docker'"));
    expect(() => buildJobManifest(input({ job: dockerJob() }))).toThrow(ManifestError);
  });
});

describe('buildRegistryAuthSecret', () => {
  it("holds a docker config.json with the job token as password for this cluster's registry, and is owned by the Kubernetes Job", () => {
    const secret = buildRegistryAuthSecret({
      jobId: JOB_ID,
      namespace: 'ci',
      labels,
      registryHost: 'registry.worker.example.com',
      token: 'the-job-token',
      owner: { name: `infrabox-${JOB_ID}`, uid: 'job-uid-1' },
    });
    expect(secret).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: `infrabox-${JOB_ID}-registry`,
        namespace: 'ci',
        labels,
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: `infrabox-${JOB_ID}`, uid: 'job-uid-1' }],
      },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': expect.any(String) },
    });
    const config = JSON.parse(Buffer.from(secret.data!['.dockerconfigjson'], 'base64').toString('utf8'));
    expect(config).toEqual({ auths: { 'registry.worker.example.com': { auth: Buffer.from('infrabox:the-job-token').toString('base64') } } });
  });
});
