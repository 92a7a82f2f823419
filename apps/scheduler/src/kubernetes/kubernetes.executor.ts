import { Logger, OnApplicationShutdown } from '@nestjs/common';
import type { V1Job } from '@kubernetes/client-node';
import { TokenService } from '@infrabox/auth';
import { currentClusterOf, type InstallConfig, type KubernetesExecutorConfig, registryOf } from '@infrabox/config';
import { BuildRepository, Job, JobConsoleRepository, JobImageRepository, JobOutput, outputKey, ProjectRepository } from '@infrabox/jobs';
import { ExecutionContext, ExecutionResult, JobExecutor } from '../execution/job-executor';
import { JOB_VIEW, sandboxEnvironment } from '@infrabox/job-sandbox';
import { BuiltImages } from '../images/built-images.service';
import { JobImageNames } from '../images/job-image.names';
import { buildJobManifest, buildJobTokenSecret, buildRegistryAuthSecret, ImageBuild, kubernetesJobName, ManifestError } from './job-manifest.builder';
import { JobPodWatch, WatchChange } from './job-pod.watch';
import { describeKubernetesError, KubernetesApi, statusCodeOf } from './kubernetes.api';
import { PodConsoleFollower } from './pod-console.follower';
import { judgePod, OutputReport } from './pod-status.mapper';

export type KubernetesExecutorDependencies = [TokenService, BuildRepository, ProjectRepository, JobConsoleRepository, JobImageRepository, InstallConfig];

/** The executor of `scheduler.executor: kubernetes`, talking to the API its config names. */
export function createKubernetesExecutor(...[tokens, builds, projects, consoles, images, config]: KubernetesExecutorDependencies): KubernetesExecutor {
  if (config.scheduler?.executor !== 'kubernetes') throw new Error('the kubernetes executor needs scheduler.executor: kubernetes');
  const cluster = currentClusterOf(config).name;
  const registryUrl = registryOf(config).url;
  const registry = new URL(registryUrl);
  return new KubernetesExecutor(new KubernetesApi(config.scheduler.kubernetes), tokens, builds, consoles, cluster, {
    names: new JobImageNames(builds, projects, registry.host),
    images: new BuiltImages(tokens, images, registryUrl, cluster),
    insecure: registry.protocol === 'http:',
  });
}

/** This cluster's registry, where `docker` jobs push the images they build and their children pull them. */
export interface KubernetesRegistry {
  names: JobImageNames;
  images: BuiltImages;
  insecure: boolean;
}

/** A job token outlives the job's timeout by this much (the upload runs at its very end). */
const TOKEN_MARGIN_SECONDS = 600;
/** After its pod or Kubernetes Job was deleted, how long a job waits for its last status before it counts as vanished. */
const VANISH_GRACE_MS = 2_000;
/** How long the end of a job waits for the rest of its log. */
const LOG_DRAIN_MS = 5_000;

/**
 * Runs each job as a Kubernetes Job (see job-manifest.builder; a `docker` job's pod builds its
 * image with BuildKit and pushes it to this cluster's registry, with the credentials of a Secret
 * the Job owns) and follows it through one watch of this cluster's Jobs and pods to its end;
 * the pod's status becomes the job's outcome (pod-status.mapper). Jobs outlive the scheduler: on shutdown it lets go of them, and after a
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
    private readonly registry: KubernetesRegistry,
  ) {
    this.settings = api.settings;
    this.watch = new JobPodWatch(api, cluster);
  }

  async run(job: Job, context: ExecutionContext): Promise<ExecutionResult> {
    let manifest;
    let token: string;
    let imageBuild: ImageBuild | undefined;
    let builtImage: string | undefined;
    try {
      const build = await this.builds.findById(job.buildId);
      if (!build) return { exitCode: null, error: `build ${job.buildId} not found` };
      const timeout = 'timeoutSeconds' in job.definition ? job.definition.timeoutSeconds : 3600;
      token = await this.tokens.issueJobToken(
        { id: job.id, buildId: job.buildId, projectId: build.projectId, parentIds: context.parents.map((p) => p.parentId) },
        timeout + TOKEN_MARGIN_SECONDS,
      );
      if (job.definition.type === 'docker') {
        imageBuild = { image: (await this.registry.names.builtName(job)).name, registryHost: this.registry.images.registryHost, insecure: this.registry.insecure };
      } else if (job.definition.type === 'docker-image' && typeof job.definition.image !== 'string') {
        const built = await this.registry.images.builtBy(context.parents, job.name, job.definition.image.job);
        if ('error' in built) return { exitCode: null, error: built.error };
        builtImage = built.name;
      }
      manifest = buildJobManifest({
        job,
        parents: context.parents,
        hasSource: context.hasSource,
        env: { ...context.env, ...sandboxEnvironment(JOB_VIEW) },
        token,
        cluster: this.cluster,
        config: this.settings,
        build: imageBuild,
        builtImage,
      });
    } catch (error) {
      if (error instanceof ManifestError) return { exitCode: null, error: error.message };
      throw error;
    }
    await this.watch.synced;
    // The pod stages itself in (its init container) and out (its upload container).
    if (!context.launch()) return { exitCode: null, handedBack: true };
    const followed = this.follow(job, context, 0);
    if (context.signal.aborted) return followed.result; // nothing created, nothing to stop
    const name = manifest.metadata!.name!;
    let created;
    try {
      created = await this.api.createJob(manifest);
    } catch (error) {
      if (statusCodeOf(error) !== 409) {
        followed.cancel();
        return { exitCode: null, error: `creating the Kubernetes Job failed: ${describeKubernetesError(error)}` };
      }
    }
    // After the Job, so that the Job owns them (and Kubernetes deletes them with the Job); the
    // kubelet waits for them before the pod starts (volumes) or pulls (imagePullSecrets).
    try {
      await this.createJobSecrets(job, token, created, Boolean(imageBuild || builtImage));
    } catch (error) {
      followed.cancel();
      await this.api.deleteJob(name).catch(() => undefined);
      return { exitCode: null, error: `creating the job's Secrets (its token, its registry credentials) failed: ${describeKubernetesError(error)}` };
    }
    // Aborted while the Job was being created: the abort's delete may have come first.
    if (context.signal.aborted && context.signal.reason !== 'shutdown') await this.api.deleteJob(name).catch(() => undefined);
    return this.recordBuiltImage(job, context, await followed.result);
  }

  /**
   * A `docker` job whose pod got past its build (the job container ran, or build_only ended
   * well): BuildKit pushed the image, which is recorded with the digest the registry gives it,
   * for children here and — by the output-forwarder — on other clusters.
   */
  private async recordBuiltImage(job: Job, context: Pick<ExecutionContext, 'parents' | 'onOutput'>, outcome: ExecutionResult): Promise<ExecutionResult> {
    if (job.definition.type !== 'docker' || outcome.exitCode === null) return outcome;
    try {
      const built = await this.registry.names.builtName(job);
      const digest = await this.registry.images.record(job, built, await this.registry.images.credentials(job, built.projectId, context.parents));
      context.onOutput(`pushed ${built.name}@${digest}\n`);
      return outcome;
    } catch (error) {
      return { ...outcome, exitCode: null, error: `job '${job.name}': ${(error as Error).message}` };
    }
  }

  /**
   * The job's token Secret (buildJobTokenSecret) and, for an image it builds or runs from a parent,
   * its registry Secret (buildRegistryAuthSecret), owned by its Kubernetes Job; ones left by an
   * earlier try are fine.
   */
  private async createJobSecrets(job: Job, token: string, created: V1Job | undefined, registry: boolean): Promise<void> {
    const owner = created ?? (await this.api.readJob(kubernetesJobName(job.id)));
    const common = { jobId: job.id, namespace: this.settings.namespace, labels: owner.metadata?.labels ?? {}, token, owner: { name: owner.metadata!.name!, uid: owner.metadata!.uid! } };
    const secrets = [buildJobTokenSecret(common), ...(registry ? [buildRegistryAuthSecret({ ...common, registryHost: this.registry.images.registryHost })] : [])];
    for (const secret of secrets) {
      try {
        await this.api.createSecret(secret);
      } catch (error) {
        if (statusCodeOf(error) !== 409) throw error;
      }
    }
  }

  async reattach(job: Job, context: ExecutionContext): Promise<ExecutionResult> {
    await this.watch.synced;
    const followed = this.follow(job, context, await this.consoles.textLength(job.id));
    // Gone while no scheduler watched (and no end seen): nothing will ever tell this job's end.
    if (!this.watch.exists(job.id)) followed.vanish();
    return this.recordBuiltImage(job, context, await followed.result);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.watch.stop();
  }

  /**
   * Follows one job: judges every change of its Kubernetes Job and pod, follows its console's
   * logs (a `docker` job's image build, then the job container) once they run, skipping
   * `consoleSkip` characters already stored, and resolves with the job's outcome; on abort it
   * deletes the Kubernetes Job, on shutdown it lets go.
   */
  private follow(job: Job, context: ExecutionContext, consoleSkip: number) {
    const name = kubernetesJobName(job.id);
    let settle!: (result: ExecutionResult) => void;
    const result = new Promise<ExecutionResult>((resolve) => (settle = resolve));
    let done = false;
    let ending = false;
    const logs = new PodConsoleFollower(this.api, () => this.watch.pod(job.id), context.onOutput, consoleSkip, (message) => this.logger.debug(message));
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
      // The rest of the logs, also when the end was seen before a log stream connected.
      await logs.drain(LOG_DRAIN_MS);
      logs.stop();
      finish(outcome);
    };
    const judge = () => {
      if (done || ending) return;
      const pod = this.watch.pod(job.id);
      const verdict = judgePod(this.watch.kubeJob(job.id), pod);
      if (verdict.kind === 'pending') return;
      if (this.watch.exists(job.id)) logs.poke();
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
        logs.stop();
        return outcome;
      }),
      cancel: () => finish({ exitCode: null }),
      vanish,
    };
  }

  private outputOf(jobId: string, report: OutputReport | undefined): JobOutput | undefined {
    if (!report) return undefined;
    return { jobId, cluster: this.cluster, storageKey: report.stored ? outputKey(this.cluster, jobId) : null, size: report.size, sha256: report.sha256 };
  }
}
