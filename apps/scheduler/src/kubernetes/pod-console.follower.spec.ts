import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { FakeKubeApiServer } from '../../../../test/support/fake-kube-api.server';
import { eventually } from '../../../../test/support/database';
import { KubernetesApi } from './kubernetes.api';
import { PodConsoleFollower } from './pod-console.follower';

/* eslint-disable @typescript-eslint/no-explicit-any -- pod statuses as the fake holds them */

/**
 * The console of a job's pod through the real client against the fake Kubernetes API on
 * loopback: a docker job's build log, then its job container's, each from its start.
 */
describe('PodConsoleFollower', () => {
  const fake = new FakeKubeApiServer();
  let dir: string;
  let api: KubernetesApi;

  beforeAll(async () => {
    await fake.start();
    dir = await mkdtemp(path.join(tmpdir(), 'infrabox-console-follower-'));
    await writeFile(path.join(dir, 'kubeconfig'), fake.kubeconfig('ci'));
    api = new KubernetesApi({
      namespace: 'ci',
      access: { kind: 'kubeconfig', path: path.join(dir, 'kubeconfig') },
      helperImage: 'infrabox:test',
      apiUrl: 'http://127.0.0.1:1',
      ttlSecondsAfterFinished: 60,
    });
  });
  afterAll(async () => {
    await fake.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const running = (name: string) => ({ name, image: name, imageID: '', ready: true, restartCount: 0, state: { running: {} } });
  const ended = (name: string, exitCode = 0) => ({ name, image: name, imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode } } });
  const waiting = (name: string) => ({ name, image: name, imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } });

  /** A docker job's pod in the fake (fetch and build as init containers, then job and upload). */
  async function dockerPod(jobId: string, buildOnly = false): Promise<{ name: string; pod: () => V1Pod }> {
    await api.createJob({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: `infrabox-${jobId}`, labels: { 'infrabox.net/job-id': jobId } },
      spec: {
        template: {
          metadata: { labels: { 'infrabox.net/job-id': jobId } },
          spec: {
            initContainers: [{ name: 'fetch-inputs' }, { name: 'build-image' }],
            containers: buildOnly ? [{ name: 'upload-output' }] : [{ name: 'job' }, { name: 'upload-output' }],
          },
        },
      },
    });
    const name = fake.podOf(jobId)!.metadata.name as string;
    return { name, pod: () => fake.podOf(jobId) as unknown as V1Pod };
  }

  function follower(pod: () => V1Pod, skip = 0) {
    const text: string[] = [];
    const errors: string[] = [];
    const logs = new PodConsoleFollower(api, pod, (t) => text.push(t), skip, (e) => errors.push(e));
    return { logs, text: () => text.join(''), errors };
  }

  it("follows the build's log, then the job container's once it has started, into one console", async () => {
    const { name, pod } = await dockerPod('a0000000-0000-0000-0000-000000000001');
    const { logs, text } = follower(pod);
    fake.setPodStatus(name, { initContainerStatuses: [ended('fetch-inputs'), running('build-image')], containerStatuses: [waiting('job'), waiting('upload-output')] });
    fake.appendLog(name, '#1 [internal] load build definition from Dockerfile\n', 'build-image');
    logs.poke();
    await eventually(() => text().includes('load build definition'), 5_000, 'the build log');
    fake.appendLog(name, '#5 pushing layers done\n', 'build-image');
    fake.closeLog(name, 'build-image');
    fake.setPodStatus(name, { initContainerStatuses: [ended('fetch-inputs'), ended('build-image')] });
    // The job container has not started yet: its log is followed on a later change.
    await new Promise((resolve) => setTimeout(resolve, 200));
    fake.appendLog(name, 'hello from the built image\n');
    fake.setPodStatus(name, { containerStatuses: [running('job'), running('upload-output')] });
    logs.poke();
    fake.closeLog(name);
    fake.setPodStatus(name, { containerStatuses: [ended('job'), ended('upload-output')] });
    await logs.drain(5_000);
    logs.stop();
    expect(text()).toBe('#1 [internal] load build definition from Dockerfile\n#5 pushing layers done\nhello from the built image\n');
  });

  it('after the end, drains the log being followed and those of the containers that ran after it', async () => {
    const { name, pod } = await dockerPod('a0000000-0000-0000-0000-000000000002');
    const { logs, text } = follower(pod);
    fake.setPodStatus(name, { initContainerStatuses: [ended('fetch-inputs'), running('build-image')], containerStatuses: [waiting('job'), waiting('upload-output')] });
    fake.appendLog(name, 'building\n', 'build-image');
    logs.poke();
    await eventually(() => text() === 'building\n', 5_000, 'the build log');
    // The rest happens before the follower hears of it: the build ends, the command runs and ends.
    fake.appendLog(name, 'built\n', 'build-image');
    fake.appendLog(name, 'ran\n');
    fake.closeLog(name);
    fake.setPodStatus(name, { initContainerStatuses: [ended('fetch-inputs'), ended('build-image')], containerStatuses: [ended('job', 3), ended('upload-output')] });
    fake.closeLog(name, 'build-image');
    await logs.drain(5_000);
    logs.stop();
    expect(text()).toBe('building\nbuilt\nran\n');
  });

  it('ends the drain at once after a failed build (the job container never ran), and skips what a re-attached job already stored', async () => {
    const { name, pod } = await dockerPod('a0000000-0000-0000-0000-000000000003');
    fake.appendLog(name, 'step 1\nstep 2\nerror: failed to solve\n', 'build-image');
    fake.closeLog(name, 'build-image');
    fake.setPodStatus(name, { phase: 'Failed', initContainerStatuses: [ended('fetch-inputs'), ended('build-image', 1)], containerStatuses: [waiting('job'), waiting('upload-output')] });
    const { logs, text, errors } = follower(pod, 'step 1\n'.length);
    const started = Date.now();
    await logs.drain(5_000);
    logs.stop();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(text()).toBe('step 2\nerror: failed to solve\n');
    expect(errors).toEqual([]);
  });

  it('follows a build_only pod: its build log is the whole console', async () => {
    const { name, pod } = await dockerPod('a0000000-0000-0000-0000-000000000004', true);
    fake.setPodStatus(name, { initContainerStatuses: [ended('fetch-inputs'), running('build-image')], containerStatuses: [waiting('upload-output')] });
    const { logs, text } = follower(pod);
    logs.poke();
    fake.appendLog(name, 'exporting to image\n', 'build-image');
    fake.closeLog(name, 'build-image');
    fake.setPodStatus(name, { phase: 'Succeeded', initContainerStatuses: [ended('fetch-inputs'), ended('build-image')], containerStatuses: [ended('upload-output')] });
    await logs.drain(5_000);
    logs.stop();
    expect(text()).toBe('exporting to image\n');
    expect(fake.requests.filter((r) => r.path.endsWith(`/pods/${name}/log`)).map((r) => r.query.container)).toEqual(['build-image']);
  });
});
