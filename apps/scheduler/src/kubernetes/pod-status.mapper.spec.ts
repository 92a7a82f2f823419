import type { V1ContainerStatus, V1Job, V1Pod } from '@kubernetes/client-node';
import { consoleContainers, judgePod } from './pod-status.mapper';

const SHA = 'ab'.repeat(32);
const running = (name: string): V1ContainerStatus => ({ name, image: `${name}:1`, imageID: '', ready: true, restartCount: 0, state: { running: {} } });
const waiting = (name: string, reason: string, message?: string): V1ContainerStatus => ({
  name,
  image: `${name}:1`,
  imageID: '',
  ready: false,
  restartCount: 0,
  state: { waiting: { reason, message } },
});
const terminated = (name: string, exitCode: number, message?: string, reason?: string): V1ContainerStatus => ({
  name,
  image: `${name}:1`,
  imageID: '',
  ready: false,
  restartCount: 0,
  state: { terminated: { exitCode, message, reason } },
});
const pod = (phase: string, containers: V1ContainerStatus[] = [], init: V1ContainerStatus[] = [], extra: Partial<NonNullable<V1Pod['status']>> = {}): V1Pod => ({
  metadata: { name: 'p' },
  status: { phase, containerStatuses: containers, initContainerStatuses: init, ...extra },
});
const fetched = [terminated('fetch-inputs', 0)];
const report = (size: number) => JSON.stringify({ stored: size > 0, size, sha256: SHA });
const kubeJob = (reason: string, message = ''): V1Job => ({ status: { conditions: [{ type: 'Failed', status: 'True', reason, message }] } });

describe('judgePod', () => {
  it('is pending without a pod, while scheduled, and while the inputs are fetched', () => {
    expect(judgePod(undefined, undefined)).toEqual({ kind: 'pending' });
    expect(judgePod(undefined, pod('Pending'))).toEqual({ kind: 'pending' });
    expect(judgePod(undefined, pod('Pending', [waiting('job', 'PodInitializing')], [running('fetch-inputs')]))).toEqual({ kind: 'pending' });
  });

  it('is running once the job container runs', () => {
    expect(judgePod(undefined, pod('Running', [running('job'), running('upload-output')], fetched))).toEqual({ kind: 'running' });
    expect(judgePod(undefined, pod('Running', [terminated('job', 0), running('upload-output')], fetched))).toEqual({ kind: 'running' });
  });

  it('succeeded → exit code 0 with the uploaded output', () => {
    expect(judgePod(undefined, pod('Succeeded', [terminated('job', 0), terminated('upload-output', 0, report(42))], fetched))).toEqual({
      kind: 'ended',
      exitCode: 0,
      output: { stored: true, size: 42, sha256: SHA },
    });
  });

  it('failed → the exit code of the job container, with its output', () => {
    expect(judgePod(undefined, pod('Failed', [terminated('job', 3), terminated('upload-output', 0, report(0))], fetched))).toEqual({
      kind: 'ended',
      exitCode: 3,
      output: { stored: false, size: 0, sha256: SHA },
    });
  });

  it('DeadlineExceeded (on the Job or the pod) → timed out', () => {
    expect(judgePod(kubeJob('DeadlineExceeded', 'Job was active longer than specified deadline'), pod('Running', [running('job')], fetched))).toEqual({
      kind: 'ended',
      exitCode: null,
      timedOut: true,
    });
    expect(judgePod(undefined, pod('Failed', [terminated('job', 137)], fetched, { reason: 'DeadlineExceeded' }))).toEqual({
      kind: 'ended',
      exitCode: 137,
      timedOut: true,
    });
  });

  it('image pull errors → error with the reason, and the Job is deleted', () => {
    for (const reason of ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName']) {
      expect(judgePod(undefined, pod('Pending', [waiting('job', reason, 'pull access denied for nope')], fetched))).toEqual({
        kind: 'ended',
        exitCode: null,
        error: `cannot pull image job:1: ${reason}: pull access denied for nope`,
        deleteJob: true,
      });
    }
    expect(judgePod(undefined, pod('Pending', [], [waiting('fetch-inputs', 'ErrImagePull')]))).toEqual({
      kind: 'ended',
      exitCode: null,
      error: 'cannot pull image fetch-inputs:1: ErrImagePull',
      deleteJob: true,
    });
    expect(judgePod(undefined, pod('Pending', [waiting('job', 'CreateContainerConfigError', 'secret "x" not found')], fetched))).toEqual({
      kind: 'ended',
      exitCode: null,
      error: 'cannot start container job: CreateContainerConfigError: secret "x" not found',
      deleteJob: true,
    });
  });

  it('a failed fetch of the inputs → error with its message', () => {
    expect(judgePod(undefined, pod('Failed', [], [terminated('fetch-inputs', 1, 'fetching the build source: GET … answered HTTP 404', 'Error')]))).toEqual({
      kind: 'ended',
      exitCode: null,
      error: 'fetching the source and inputs failed (exit code 1): fetching the build source: GET … answered HTTP 404',
    });
  });

  it('a failed upload → error, keeping the exit code', () => {
    expect(judgePod(undefined, pod('Failed', [terminated('job', 0), terminated('upload-output', 1, 'PUT … answered HTTP 409')], fetched))).toEqual({
      kind: 'ended',
      exitCode: 0,
      error: 'uploading the output failed (exit code 1): PUT … answered HTTP 409',
    });
    expect(judgePod(undefined, pod('Succeeded', [terminated('job', 0), terminated('upload-output', 0, 'not json')], fetched))).toEqual({
      kind: 'ended',
      exitCode: 0,
      error: 'the upload container reported no output summary: not json',
    });
  });

  it('a pod that failed before the command ended (evicted) → error with the pod reason', () => {
    expect(judgePod(undefined, pod('Failed', [running('job')], fetched, { reason: 'Evicted', message: 'The node was low on memory.' }))).toEqual({
      kind: 'ended',
      exitCode: null,
      error: "the pod failed before the job's command ended: Evicted: The node was low on memory.",
    });
  });

  it('a failed Job without a pod → error with the Job condition', () => {
    expect(judgePod(kubeJob('BackoffLimitExceeded', 'Job has reached the specified backoff limit'), undefined)).toEqual({
      kind: 'ended',
      exitCode: null,
      error: 'the Kubernetes Job failed: BackoffLimitExceeded: Job has reached the specified backoff limit',
    });
  });

  describe("a docker job's pod (an image build among its init containers)", () => {
    /** A docker job's pod: fetch and build as init containers; the job container unless build_only. */
    const dockerPod = (buildOnly: boolean, phase: string, containers: V1ContainerStatus[] = [], init: V1ContainerStatus[] = []): V1Pod => ({
      ...pod(phase, containers, init),
      spec: {
        initContainers: [{ name: 'fetch-inputs' }, { name: 'build-image' }],
        containers: buildOnly ? [{ name: 'upload-output' }] : [{ name: 'job' }, { name: 'upload-output' }],
      },
    });
    const built = [terminated('fetch-inputs', 0), terminated('build-image', 0)];

    it('is pending while the inputs are fetched, and running (its build log can be followed) once the build runs', () => {
      expect(judgePod(undefined, dockerPod(false, 'Pending', [waiting('job', 'PodInitializing')], [running('fetch-inputs'), waiting('build-image', 'PodInitializing')]))).toEqual({ kind: 'pending' });
      expect(judgePod(undefined, dockerPod(false, 'Pending', [waiting('job', 'PodInitializing')], [terminated('fetch-inputs', 0), running('build-image')]))).toEqual({ kind: 'running' });
      expect(judgePod(undefined, dockerPod(true, 'Pending', [waiting('upload-output', 'PodInitializing')], [terminated('fetch-inputs', 0), running('build-image')]))).toEqual({ kind: 'running' });
    });

    it('a failed build → error saying the build failed, with the end of its log', () => {
      const failedBuild = [terminated('fetch-inputs', 0), terminated('build-image', 1, 'error: failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2', 'Error')];
      for (const buildOnly of [false, true]) {
        expect(judgePod(undefined, dockerPod(buildOnly, 'Failed', [waiting(buildOnly ? 'upload-output' : 'job', 'PodInitializing')], failedBuild))).toEqual({
          kind: 'ended',
          exitCode: null,
          error: 'building the image failed (exit code 1): error: failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2',
        });
      }
      // Killed for its memory limit: no message, the reason says it.
      expect(judgePod(undefined, dockerPod(false, 'Failed', [], [terminated('fetch-inputs', 0), terminated('build-image', 137, undefined, 'OOMKilled')]))).toEqual({
        kind: 'ended',
        exitCode: null,
        error: 'building the image failed (exit code 137): OOMKilled',
      });
    });

    it('a built image that cannot be pulled → error naming the image, and the Job is deleted', () => {
      const status = { ...waiting('job', 'ErrImagePull', 'unauthorized'), image: 'registry.example.com/demo/img:build_7' };
      expect(judgePod(undefined, dockerPod(false, 'Pending', [status, running('upload-output')], built))).toEqual({
        kind: 'ended',
        exitCode: null,
        error: 'cannot pull image registry.example.com/demo/img:build_7: ErrImagePull: unauthorized',
        deleteJob: true,
      });
    });

    it('built and run → the exit code of the job container, with its output', () => {
      expect(judgePod(undefined, dockerPod(false, 'Failed', [terminated('job', 4), terminated('upload-output', 0, report(7))], built))).toEqual({
        kind: 'ended',
        exitCode: 4,
        output: { stored: true, size: 7, sha256: SHA },
      });
    });

    it('build_only: built and uploaded → exit code 0 with the output; a failed upload → error', () => {
      expect(judgePod(undefined, dockerPod(true, 'Succeeded', [terminated('upload-output', 0, report(0))], built))).toEqual({
        kind: 'ended',
        exitCode: 0,
        output: { stored: false, size: 0, sha256: SHA },
      });
      expect(judgePod(undefined, dockerPod(true, 'Failed', [terminated('upload-output', 1, 'PUT … answered HTTP 500')], built))).toEqual({
        kind: 'ended',
        exitCode: 0,
        error: 'uploading the output failed (exit code 1): PUT … answered HTTP 500',
      });
    });

    it('a deadline during the build → timed out', () => {
      expect(judgePod(kubeJob('DeadlineExceeded'), dockerPod(false, 'Running', [], [terminated('fetch-inputs', 0), running('build-image')]))).toEqual({
        kind: 'ended',
        exitCode: null,
        timedOut: true,
      });
    });

    it("makes the console of the build's log, then the job container's", () => {
      expect(consoleContainers(dockerPod(false, 'Pending'))).toEqual(['build-image', 'job']);
      expect(consoleContainers(dockerPod(true, 'Pending'))).toEqual(['build-image']);
      expect(consoleContainers({ ...pod('Pending'), spec: { initContainers: [{ name: 'fetch-inputs' }], containers: [{ name: 'job' }, { name: 'upload-output' }] } })).toEqual(['job']);
    });
  });
});
