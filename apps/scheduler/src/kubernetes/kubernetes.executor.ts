import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { TokenService } from '@infrabox/auth';
import type { InstallConfig, KubernetesExecutorConfig } from '@infrabox/config';
import { BuildRepository, Job, JobConsoleRepository, JobOutput, outputKey } from '@infrabox/jobs';
import { ExecutionContext, ExecutionResult, JobExecutor } from '../execution/job-executor';
import { JOB_VIEW, sandboxEnvironment } from '@infrabox/job-sandbox';
import { buildJobManifest, CONTAINERS, kubernetesJobName, ManifestError } from './job-manifest.builder';
import { JobPodWatch, WatchChange } from './job-pod.watch';
import { describeKubernetesError, KubernetesApi, LogStream, statusCodeOf } from './kubernetes.api';
import { judgePod, OutputReport } from './pod-status.mapper';

export type KubernetesExecutorDependencies = [TokenService, BuildRepository, JobConsoleRepository, InstallConfig];

/** The executor of `scheduler.executor: kubernetes`, talking to the API its config names. */
export function createKubernetesExecutor(...[tokens, builds, consoles, config]: KubernetesExecutorDependencies): KubernetesExecutor {
  if (config.scheduler?.executor !== 'kubernetes') throw new Error('the kubernetes executor needs scheduler.executor: kubernetes');
  return new KubernetesExecutor(new KubernetesApi(config.scheduler.kubernetes), tokens, builds, consoles, config.cluster.name);
}

/** A job token outlives the job's timeout by this much (the upload runs at its very end). */
const TOKEN_MARGIN_SECONDS = 600;
/** After its pod or Kubernetes Job was deleted, how long a job waits for its last status before it counts as vanished. */
const VANISH_GRACE_MS = 2_000;
/** How long the end of a job waits for the rest of its log. */
const LOG_DRAIN_MS = 5_000;

/**
 * Runs each job as a Kubernetes Job (see job-manifest.builder) and follows it through one watch
 * of this cluster's Jobs and pods to its end; the pod's status becomes the job's outcome
 * (pod-status.mapper). Jobs outlive the scheduler: on shutdown it lets go of them, and after a
 * restart it re-attaches to them by label.
 */
export class KubernetesExecutor implements JobExecutor, OnApplicationShutdown {
  private readonly logger = new Logger('kubernetes-executor');
  private readonly settings: KubernetesExecutorConfig;
  private readonly watch: JobPodWatch;

  constructor(
    private readonly api: KubernetesApi,
    private readonly tokens: TokenService,
    private readonly builds: BuildRepository,
    private readonly consoles: JobConsoleRepository,
    private readonly cluster: string,
  ) {
    this.settings = api.settings;
    this.watch = new JobPodWatch(api, cluster);
  }

  async run(job: Job, context: ExecutionContext): Promise<ExecutionResult> {
    let manifest;
    try {
      const build = await this.builds.findById(job.buildId);
      if (!build) return { exitCode: null, error: `build ${job.buildId} not found` };
      const timeout = 'timeoutSeconds' in job.definition ? job.definition.timeoutSeconds : 3600;
      const token = await this.tokens.issueJobToken(
        { id: job.id, buildId: job.buildId, projectId: build.projectId, parentIds: context.parents.map((p) => p.parentId) },
        timeout + TOKEN_MARGIN_SECONDS,
      );
      manifest = buildJobManifest({ job, parents: context.parents, hasSource: context.hasSource, env: { ...context.env, ...sandboxEnvironment(JOB_VIEW) }, token, cluster: this.cluster, config: this.settings });
    } catch (error) {
      if (error instanceof ManifestError) return { exitCode: null, error: error.message };
      throw error;
    }
    await this.watch.synced;
    // The pod stages itself in (its init container) and out (its upload container).
    if (!context.launch()) return { exitCode: null, handedBack: true };
    const followed = this.follow(job, context, 0);
    if (context.signal.aborted) return followed.result; // nothing created, nothing to stop
    try {
      await this.api.createJob(manifest);
    } catch (error) {
      if (statusCodeOf(error) !== 409) {
        followed.cancel();
        return { exitCode: null, error: `creating the Kubernetes Job failed: ${describeKubernetesError(error)}` };
      }
    }
    // Aborted while the Job was being created: the abort's delete may have come first.
    if (context.signal.aborted && context.signal.reason !== 'shutdown') await this.api.deleteJob(manifest.metadata!.name!).catch(() => undefined);
    return followed.result;
  }

  async reattach(job: Job, context: ExecutionContext): Promise<ExecutionResult> {
    await this.watch.synced;
    const followed = this.follow(job, context, await this.consoles.textLength(job.id));
    // Gone while no scheduler watched (and no end seen): nothing will ever tell this job's end.
    if (!this.watch.exists(job.id)) followed.vanish();
    return followed.result;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.watch.stop();
  }

  /**
   * Follows one job: judges every change of its Kubernetes Job and pod, follows the job
   * container's log once it runs (skipping `consoleSkip` characters already stored), and
   * resolves with the job's outcome; on abort it deletes the Kubernetes Job, on shutdown it lets go.
   */
  private follow(job: Job, context: ExecutionContext, consoleSkip: number) {
    const name = kubernetesJobName(job.id);
    let settle!: (result: ExecutionResult) => void;
    const result = new Promise<ExecutionResult>((resolve) => (settle = resolve));
    let done = false;
    let ending = false;
    let log: LogStream | null = null;
    let logState: 'idle' | 'starting' | 'following' = 'idle';
    /** Settles once the last attempt to follow the log has connected or failed. */
    let logStarting: Promise<void> = Promise.resolve();
    let skip = consoleSkip;
    let vanishTimer: NodeJS.Timeout | null = null;

    const finish = (outcome: ExecutionResult) => {
      if (done) return;
      done = true;
      if (vanishTimer) clearTimeout(vanishTimer);
      this.watch.forget(job.id);
      context.signal.removeEventListener('abort', onAbort);
      settle(outcome);
    };
    const endWith = async (outcome: ExecutionResult, deleteJob: boolean) => {
      if (done || ending) return;
      ending = true;
      if (deleteJob) await this.api.deleteJob(name).catch((error) => this.logger.warn(`deleting ${name}: ${describeKubernetesError(error)}`));
      // The rest of the log, also when the end was seen before the log stream connected.
      const drained = logStarting.then(() => (log as LogStream | null)?.ended);
      await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, LOG_DRAIN_MS))]);
      (log as LogStream | null)?.stop();
      finish(outcome);
    };
    const startLog = (podName: string) => {
      if (logState !== 'idle') return;
      logState = 'starting';
      logStarting = this.api
        .followLog(podName, CONTAINERS.job, (text) => {
          if (skip >= text.length) {
            skip -= text.length;
            return;
          }
          context.onOutput(text.slice(skip));
          skip = 0;
        })
        .then(
          (stream) => {
            log = stream;
            logState = 'following';
            if (done) stream.stop();
          },
          (error) => {
            logState = 'idle'; // tried again on the next change
            this.logger.debug(`following the log of ${podName}: ${describeKubernetesError(error)}`);
          },
        );
    };
    const judge = () => {
      if (done || ending) return;
      const pod = this.watch.pod(job.id);
      const verdict = judgePod(this.watch.kubeJob(job.id), pod);
      if (verdict.kind === 'pending') return;
      if (pod?.metadata?.name && this.watch.exists(job.id)) startLog(pod.metadata.name);
      if (verdict.kind === 'running') return;
      const outcome: ExecutionResult = { exitCode: verdict.exitCode, error: verdict.error, timedOut: verdict.timedOut, output: this.outputOf(job.id, verdict.output) };
      void endWith(outcome, verdict.deleteJob === true);
    };
    const vanish = () => finish({ exitCode: null, error: 'pod vanished' });
    const onChange = (change: WatchChange) => {
      if (change.kind === 'changed') return judge();
      // The last status may still explain the end (a deadline deletes the pod); else it vanished.
      vanishTimer ??= setTimeout(() => {
        vanishTimer = null;
        judge();
        if (done || ending) return;
        void this.api.deleteJob(name).catch(() => undefined);
        vanish();
      }, VANISH_GRACE_MS);
    };
    const onAbort = () => {
      if (context.signal.reason === 'shutdown') return finish({ exitCode: null, detached: true });
      void this.api
        .deleteJob(name)
        .catch((error) => this.logger.warn(`deleting ${name} after an abort: ${describeKubernetesError(error)}`))
        .then(() => finish({ exitCode: null }));
    };
    context.signal.addEventListener('abort', onAbort, { once: true });
    this.watch.listen(job.id, onChange);
    judge(); // what the watch already holds (a re-attach)
    if (context.signal.aborted) onAbort();
    return {
      result: result.then((outcome) => {
        log?.stop();
        return outcome;
      }),
      cancel: () => finish({ exitCode: null }),
      vanish,
    };
  }

  private outputOf(jobId: string, report: OutputReport | undefined): JobOutput | undefined {
    if (!report) return undefined;
    return { jobId, cluster: this.cluster, storageKey: report.stored ? outputKey(jobId) : null, size: report.size, sha256: report.sha256 };
  }
}
