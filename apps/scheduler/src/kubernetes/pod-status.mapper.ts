import type { V1ContainerStatus, V1Job, V1Pod } from '@kubernetes/client-node';
import { OutputReport, parseOutputReport } from '@infrabox/job-sandbox';
import { CONTAINERS } from './job-manifest.builder';

/** Waiting reasons after which a container will never start on its own. */
const UNSTARTABLE = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
]);

export type { OutputReport };

export type PodVerdict =
  /** Not started yet (scheduling, pulling, fetching inputs). */
  | { kind: 'pending' }
  /** The image build or the job's command runs (or has run): the console's logs can be followed (consoleContainers). */
  | { kind: 'running' }
  | {
      kind: 'ended';
      exitCode: number | null;
      /** The job could not run or its data steps failed; the job ends in error with this message. */
      error?: string;
      /** The Kubernetes Job's deadline (the job's timeout) passed. */
      timedOut?: boolean;
      output?: OutputReport;
      /** The Kubernetes Job would linger (a container that cannot start): the executor deletes it. */
      deleteJob?: boolean;
    };

/**
 * Reads a job's end (or its progress) from its Kubernetes Job and pod, as the watch last saw
 * them. Pure: every case is unit-tested.
 */
export function judgePod(kubeJob: V1Job | undefined, pod: V1Pod | undefined): PodVerdict {
  const main = statusOf(pod, CONTAINERS.job);
  const mainExitCode = main?.state?.terminated?.exitCode ?? null;
  const failed = kubeJob?.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
  if (failed?.reason === 'DeadlineExceeded' || pod?.status?.reason === 'DeadlineExceeded') {
    return { kind: 'ended', exitCode: mainExitCode, timedOut: true };
  }

  const fetch = statusOf(pod, CONTAINERS.fetch, true);
  const fetched = fetch?.state?.terminated;
  if (fetched && fetched.exitCode !== 0) {
    return { kind: 'ended', exitCode: null, error: `fetching the source and inputs failed (exit code ${fetched.exitCode}): ${terminationText(fetched)}` };
  }
  const build = statusOf(pod, CONTAINERS.build, true);
  const built = build?.state?.terminated;
  if (built && built.exitCode !== 0) {
    return { kind: 'ended', exitCode: null, error: `building the image failed (exit code ${built.exitCode}): ${terminationText(built)}` };
  }

  for (const status of [...(pod?.status?.initContainerStatuses ?? []), ...(pod?.status?.containerStatuses ?? [])]) {
    const waiting = status.state?.waiting;
    if (waiting?.reason && UNSTARTABLE.has(waiting.reason)) {
      const what = waiting.reason.includes('Image') ? `cannot pull image ${status.image}` : `cannot start container ${status.name}`;
      return { kind: 'ended', exitCode: null, error: `${what}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`, deleteJob: true };
    }
  }

  const phase = pod?.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') {
    // A build_only pod has no job container: its build is its command.
    const exitCode = isBuildOnly(pod) && built?.exitCode === 0 ? 0 : mainExitCode;
    if (exitCode === null) {
      const why = [pod?.status?.reason, pod?.status?.message].filter(Boolean).join(': ');
      return { kind: 'ended', exitCode: null, error: `the pod failed before the job's command ended${why ? `: ${why}` : ''}` };
    }
    const upload = statusOf(pod, CONTAINERS.upload)?.state?.terminated;
    if (!upload) return { kind: 'ended', exitCode, error: 'the output was not uploaded: the upload container did not run' };
    if (upload.exitCode !== 0) {
      return { kind: 'ended', exitCode, error: `uploading the output failed (exit code ${upload.exitCode}): ${terminationText(upload)}` };
    }
    const output = parseOutputReport(upload.message);
    if (!output) return { kind: 'ended', exitCode, error: `the upload container reported no output summary: ${terminationText(upload)}` };
    return { kind: 'ended', exitCode, output };
  }

  if (failed) {
    return { kind: 'ended', exitCode: mainExitCode, error: `the Kubernetes Job failed: ${failed.reason ?? 'no reason'}${failed.message ? `: ${failed.message}` : ''}` };
  }
  if (consoleContainers(pod).some((name) => hasStarted(pod, name))) return { kind: 'running' };
  return { kind: 'pending' };
}

/**
 * The containers whose logs make the job's console, in the order they run: a `docker` job's
 * image build (an init container), then the job's command.
 */
export function consoleContainers(pod: V1Pod | undefined): string[] {
  const init = pod?.spec?.initContainers?.some((c) => c.name === CONTAINERS.build) ? [CONTAINERS.build] : [];
  return [...init, ...(isBuildOnly(pod) ? [] : [CONTAINERS.job])];
}

/** Whether the container runs or has run (its log can be read). */
export function hasStarted(pod: V1Pod | undefined, name: string): boolean {
  const status = statusOf(pod, name) ?? statusOf(pod, name, true);
  return Boolean(status?.state?.running || status?.state?.terminated);
}

/** A `docker` job's pod with `build_only`: it builds and uploads, and has no job container. */
function isBuildOnly(pod: V1Pod | undefined): boolean {
  const containers = pod?.spec?.containers;
  return containers !== undefined && !containers.some((c) => c.name === CONTAINERS.job);
}

function statusOf(pod: V1Pod | undefined, name: string, init = false): V1ContainerStatus | undefined {
  const statuses = init ? pod?.status?.initContainerStatuses : pod?.status?.containerStatuses;
  return statuses?.find((s) => s.name === name);
}

function terminationText(terminated: { reason?: string; message?: string }): string {
  const text = (terminated.message ?? '').trim();
  return text === '' ? (terminated.reason ?? 'no message') : text.slice(-1000);
}
