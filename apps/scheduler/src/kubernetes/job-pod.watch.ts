import { Logger } from '@nestjs/common';
import { ADD, DELETE, ERROR, UPDATE, type Informer, type KubernetesObject, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { KubernetesApi, describeKubernetesError } from './kubernetes.api';
import { LABELS } from './job-manifest.builder';

/** How long a failed watch waits before it lists and watches again. */
const RESTART_DELAY_MS = 1_000;

export type WatchChange = { kind: 'changed' } | { kind: 'deleted'; what: 'job' | 'pod' };

/**
 * One watch (list, then watch from its resourceVersion; a 410 Gone lists again) over the
 * Kubernetes Jobs and pods of this cluster's jobs, by label. Keeps the last state of each job's
 * Kubernetes Job and pod — a deleted pod's last state too, so its end can still be read — and
 * tells the job's listener of every change.
 */
export class JobPodWatch {
  private readonly kubeJobs = new Map<string, V1Job>();
  private readonly pods = new Map<string, V1Pod>();
  private readonly present = { job: new Set<string>(), pod: new Set<string>() };
  private readonly listeners = new Map<string, (change: WatchChange) => void>();
  private readonly informers: Array<Informer<KubernetesObject>> = [];
  private readonly logger = new Logger('kubernetes-watch');
  private stopped = false;
  /** Resolves once both kinds have been listed once. */
  readonly synced: Promise<void>;

  constructor(api: KubernetesApi, cluster: string) {
    const selector = `${LABELS.cluster}=${cluster}`;
    const jobs = api.jobInformer(selector);
    const pods = api.podInformer(selector);
    this.wire(jobs, 'job', (id, job) => this.kubeJobs.set(id, job));
    this.wire(pods, 'pod', (id, pod) => {
      // A replacement pod supersedes the one before it; a late event of the old one does not.
      const known = this.pods.get(id);
      if (known && known.metadata?.name !== pod.metadata?.name && isOlder(pod, known)) return;
      this.pods.set(id, pod);
    });
    this.informers.push(jobs as Informer<KubernetesObject>, pods as Informer<KubernetesObject>);
    this.synced = Promise.all([this.startWithRetry(jobs, 'jobs'), this.startWithRetry(pods, 'pods')]).then(() => undefined);
  }

  kubeJob(jobId: string): V1Job | undefined {
    return this.kubeJobs.get(jobId);
  }

  pod(jobId: string): V1Pod | undefined {
    return this.pods.get(jobId);
  }

  /** Whether the Kubernetes Job or its pod still exist (as far as the watch knows). */
  exists(jobId: string): boolean {
    return this.present.job.has(jobId) || this.present.pod.has(jobId);
  }

  listen(jobId: string, listener: (change: WatchChange) => void): void {
    this.listeners.set(jobId, listener);
  }

  /** Stops telling the job's changes and forgets its objects. */
  forget(jobId: string): void {
    this.listeners.delete(jobId);
    if (!this.present.job.has(jobId)) this.kubeJobs.delete(jobId);
    if (!this.present.pod.has(jobId)) this.pods.delete(jobId);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.informers.map((informer) => informer.stop()));
  }

  private wire<T extends KubernetesObject>(informer: Informer<T>, what: 'job' | 'pod', keep: (jobId: string, object: T) => void): void {
    const changed = (object: T) => {
      const id = object.metadata?.labels?.[LABELS.jobId];
      if (!id) return;
      this.present[what].add(id);
      keep(id, object);
      this.listeners.get(id)?.({ kind: 'changed' });
    };
    informer.on(ADD, changed);
    informer.on(UPDATE, changed);
    informer.on(DELETE, (object: T) => {
      const id = object.metadata?.labels?.[LABELS.jobId];
      if (!id) return;
      const current = what === 'job' ? this.kubeJobs.get(id) : this.pods.get(id);
      if (current && current.metadata?.name !== object.metadata?.name) return; // an older pod went
      this.present[what].delete(id);
      if (!this.listeners.has(id)) {
        (what === 'job' ? this.kubeJobs : this.pods).delete(id);
        return;
      }
      this.listeners.get(id)!({ kind: 'deleted', what });
    });
    informer.on(ERROR, (error: unknown) => {
      if (this.stopped) return;
      this.logger.warn(`watching ${what}s failed, watching again in ${RESTART_DELAY_MS} ms: ${describeKubernetesError(error)}`);
      setTimeout(() => void this.startWithRetry(informer, `${what}s`), RESTART_DELAY_MS);
    });
  }

  private async startWithRetry(informer: Informer<KubernetesObject>, what: string): Promise<void> {
    while (!this.stopped) {
      try {
        await informer.start();
        return;
      } catch (error) {
        this.logger.warn(`listing ${what} failed, trying again in ${RESTART_DELAY_MS} ms: ${describeKubernetesError(error)}`);
        await new Promise((resolve) => setTimeout(resolve, RESTART_DELAY_MS));
      }
    }
  }
}

function isOlder(a: KubernetesObject, b: KubernetesObject): boolean {
  const time = (o: KubernetesObject) => new Date(o.metadata?.creationTimestamp ?? 0).getTime();
  return time(a) < time(b);
}
