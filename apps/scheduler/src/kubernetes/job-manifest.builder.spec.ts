import type { KubernetesExecutorConfig } from '@infrabox/config';
import type { DockerImageJob } from '@infrabox/job-definition';
import type { Job, ParentLink } from '@infrabox/jobs';
import { buildJobManifest, JobManifestInput, ManifestError } from './job-manifest.builder';

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
const helperEnv = [
  { name: 'INFRABOX_API', value: 'http://infrabox-api.infrabox.svc:8080' },
  { name: 'INFRABOX_TOKEN', value: 'the-job-token' },
];

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
            volumes: [{ name: 'infrabox', emptyDir: {} }],
            initContainers: [
              {
                name: 'fetch-inputs',
                image: 'infrabox/infrabox:1.0',
                command: [
                  'node', '/app/dist/apps/cli/src/main.js', 'job', 'fetch-inputs', JOB_ID, '--dir', '/infrabox', '--source',
                  '--parent', 'aaaaaaaa-0000-0000-0000-000000000001=build',
                  '--parent', 'aaaaaaaa-0000-0000-0000-000000000002=lint',
                ],
                env: helperEnv,
                volumeMounts: mounts,
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
                  'node', '/app/dist/apps/cli/src/main.js', 'job', 'upload-output', JOB_ID, '--dir', '/infrabox',
                  '--wait-for', '/infrabox/.exit', '--result', '/dev/termination-log',
                ],
                env: helperEnv,
                volumeMounts: mounts,
                terminationMessagePolicy: 'FallbackToLogsOnError',
              },
            ],
          },
        },
      },
    });
  });

  it('fetches neither source nor inputs for a job without them', () => {
    const manifest = buildJobManifest(input({ parents: [], hasSource: false }));
    expect(manifest.spec!.template.spec!.initContainers![0].command).toEqual([
      'node', '/app/dist/apps/cli/src/main.js', 'job', 'fetch-inputs', JOB_ID, '--dir', '/infrabox',
    ]);
  });

  it('refuses what it cannot run, naming the job and the reason', () => {
    expect(() => buildJobManifest(input({ job: job({ command: undefined }) }))).toThrow(
      new ManifestError(`job 'test' has no command: the kubernetes executor runs a job's "command" (in its image's /bin/sh)`),
    );
    expect(() => buildJobManifest(input({ job: job({ environment: { TOKEN: { secret: 'deploy-key' } } }) }))).toThrow(
      new ManifestError(`job 'test': environment TOKEN refers to a secret, which cannot be passed to a job yet`),
    );
    const docker = { ...job(), type: 'docker' as const, definition: { ...definition, type: 'docker', dockerFile: 'Dockerfile' } } as unknown as Job;
    expect(() => buildJobManifest(input({ job: docker }))).toThrow(
      new ManifestError(`job 'test' is of type 'docker': the kubernetes executor runs docker-image jobs`),
    );
  });
});
