import { PassThrough } from 'node:stream';
import { Logger, OnApplicationShutdown } from '@nestjs/common';
import type Docker from 'dockerode';
import type { ContainerExecutorConfig } from '@infrabox/config';
import { JOB_VIEW, jobEnvironment, sandboxEnvironment, SandboxError, SandboxFolders } from '@infrabox/job-sandbox';
import type { DockerImageJob, DockerJob } from '@infrabox/job-definition';
import type { Job } from '@infrabox/jobs';
import type { HostSandbox } from '../job-files/host-sandbox.service';
import type { ExecutionContext, ExecutionResult, JobExecutor } from '../execution/job-executor';
import { ContainerEngine, engineMessage } from '@infrabox/containers';
import type { BuiltImages } from '../images/built-images.service';
import { buildPaths } from './docker-build.paths';
import { buildImage, IMAGE_LABELS } from './image.builder';
import { ImagePuller } from './image.puller';
import { pushImage } from './image.pusher';
import type { JobImageNames } from '../images/job-image.names';

/** Seconds between SIGTERM and SIGKILL when a job is stopped. */
const STOP_GRACE_SECONDS = 5;
/** Labels on every container of a job. */
export const CONTAINER_LABELS = { jobId: 'infrabox.net/job-id', cluster: 'infrabox.net/cluster' } as const;

export function containerName(jobId: string): string {
  return `infrabox-${jobId}`;
}

/**
 * Runs each job in its image through a Docker Engine API (dockerd, or Podman's service): only
 * the job's folders are mounted, its environment is the job's and the INFRABOX_* variables,
 * its limits are the job's `resources.limits`. The container is removed when the job ends, and
 * the job's folders once its output is stored (HostSandbox).
 */
export class ContainerExecutor implements JobExecutor, OnApplicationShutdown {
  private readonly logger: Logger;
  private readonly docker: Docker;
  private readonly images: ImagePuller;
  /** Containers created and not yet removed. */
  private active = 0;

  constructor(
    private readonly engine: ContainerEngine,
    private readonly sandbox: HostSandbox,
    private readonly settings: ContainerExecutorConfig,
    private readonly names: JobImageNames,
    private readonly registry: BuiltImages,
    private readonly cluster: string,
  ) {
    this.docker = engine.docker;
    this.images = new ImagePuller(engine.docker, settings.pullPolicy);
    this.logger = new Logger(`container-executor@${cluster}`);
  }

  async run(job: Job, context: ExecutionContext): Promise<ExecutionResult> {
    const definition = job.definition;
    if (definition.type !== 'docker-image' && definition.type !== 'docker') {
      return { exitCode: null, error: `job '${job.name}': the container executor runs docker-image and docker jobs; '${definition.type}' jobs are not supported yet` };
    }
    if (definition.securityContext.privileged && !this.settings.allowPrivileged) {
      return { exitCode: null, error: `job '${job.name}': security_context.privileged is not allowed on cluster ${this.cluster} (scheduler.container.allow_privileged)` };
    }
    let env: Record<string, string>;
    try {
      env = jobEnvironment(job.name, definition, { ...context.env, ...sandboxEnvironment(JOB_VIEW) });
    } catch (error) {
      if (error instanceof SandboxError) return { exitCode: null, error: error.message };
      throw error;
    }
    if (definition.type === 'docker-image') {
      let image: { name: string } | { error: string };
      if (typeof definition.image === 'string') {
        image = await this.images.ensure(definition.image, context.signal);
      } else {
        const parentName = definition.image.job;
        const built = await this.registry.builtBy(context.parents, job.name, parentName);
        image = 'error' in built ? built : await this.images.ensure(built.name, context.signal, await this.credentials(job, context));
      }
      if ('error' in image) return { exitCode: null, error: image.error };
      const name = image.name;
      return this.sandbox.run(job, context, (folders) => this.runContainer(job, this.containerOptions(job, definition, name, env, folders), context));
    }
    const built = await this.names.builtName(job);
    return this.sandbox.run(job, context, async (folders) => {
      const paths = buildPaths(folders.context, definition);
      if ('error' in paths) return { exitCode: null, error: paths.error };
      context.onOutput(`building ${built.name}\n`);
      const labels = { [IMAGE_LABELS.buildId]: job.buildId, [IMAGE_LABELS.jobName]: job.name };
      const failed = await buildImage(this.docker, { tag: built.name, labels, ...paths, buildArguments: definition.buildArguments, target: definition.target }, context.onOutput, context.signal);
      if (failed) return { exitCode: null, error: `building the image of job '${job.name}' failed: ${failed}` };
      const credentials = await this.registry.credentials(job, built.projectId, context.parents);
      context.onOutput(`pushing ${built.name}\n`);
      const notPushed = await pushImage(this.docker, this.registry.registryUrl, built, credentials, context.signal);
      if (notPushed) return { exitCode: null, error: `pushing the image of job '${job.name}' to the registry of cluster ${this.cluster} failed: ${notPushed}` };
      try {
        context.onOutput(`pushed ${built.name}@${await this.registry.record(job, built, credentials)}\n`);
      } catch (error) {
        return { exitCode: null, error: `job '${job.name}': ${(error as Error).message}` };
      }
      if (definition.buildOnly) return { exitCode: 0 };
      return this.runContainer(job, this.containerOptions(job, definition, built.name, env, folders), context);
    });
  }

  /** The job's credentials for this cluster's registry. */
  private async credentials(job: Job, context: ExecutionContext) {
    return this.registry.credentials(job, await this.names.projectIdOf(job), context.parents);
  }

  private containerOptions(job: Job, definition: DockerImageJob | DockerJob, image: string, env: Record<string, string>, folders: SandboxFolders): Docker.ContainerCreateOptions {
    return {
      name: containerName(job.id),
      Image: image,
      ...(definition.command && definition.command.length > 0 && { Entrypoint: definition.command, Cmd: [] }),
      Env: Object.entries(env).map(([name, value]) => `${name}=${value}`),
      WorkingDir: JOB_VIEW.context,
      Labels: { [CONTAINER_LABELS.jobId]: job.id, [CONTAINER_LABELS.cluster]: this.cluster },
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      HostConfig: {
        Binds: mounts(folders),
        Memory: definition.resources.limits.memory * 1024 * 1024,
        MemorySwap: definition.resources.limits.memory * 1024 * 1024,
        NanoCpus: Math.round(definition.resources.limits.cpu * 1e9),
        Privileged: definition.securityContext.privileged,
        // Podman's service needs bounded ulimits on some kernels (stack-notes.md); dockerd takes them too.
        Ulimits: [
          { Name: 'nofile', Soft: 1024, Hard: 1024 },
          { Name: 'nproc', Soft: 1024, Hard: 1024 },
        ],
      },
    };
  }

  /** Stops and removes the containers of jobs a dead scheduler left, and their folders on this host. */
  async abandon(jobIds: readonly string[]): Promise<void> {
    if (jobIds.length === 0) return;
    const wanted = new Set(jobIds);
    const containers = await this.docker.listContainers({ all: true, filters: { label: [`${CONTAINER_LABELS.cluster}=${this.cluster}`] } });
    for (const info of containers.filter((c) => wanted.has(c.Labels[CONTAINER_LABELS.jobId] ?? ''))) {
      await this.docker
        .getContainer(info.Id)
        .remove({ force: true, v: true })
        .then(() => this.logger.warn(`removed container ${info.Names[0] ?? info.Id} of job ${info.Labels[CONTAINER_LABELS.jobId]}, left by a lost scheduler`))
        .catch((error) => this.logger.warn(`removing container ${info.Id} of a lost scheduler's job: ${engineMessage(error)}`));
    }
    await Promise.all(jobIds.map((id) => this.sandbox.remove(id)));
  }

  /** Once the runner has stopped every job (their containers removed): lets go of the engine. */
  async onApplicationShutdown(): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (this.active > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await this.engine.close();
  }

  /** Creates, starts and follows the container to its end; it is removed whatever happened. */
  private async runContainer(job: Job, options: Docker.ContainerCreateOptions, context: ExecutionContext): Promise<ExecutionResult> {
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(options);
    } catch (error) {
      return { exitCode: null, error: `creating the container of job '${job.name}' failed: ${engineMessage(error)}` };
    }
    this.active++;
    const stop = () => void container.stop({ t: STOP_GRACE_SECONDS }).catch(() => undefined);
    try {
      context.signal.addEventListener('abort', stop, { once: true });
      await container.start();
      if (context.signal.aborted) stop();
      // Observed at once: a failure to follow the log must not go unhandled while the job runs.
      const logs = this.follow(container, context).then(() => null, (error: unknown) => error);
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      const logFailure = await logs;
      if (logFailure) throw logFailure;
      return { exitCode: StatusCode };
    } catch (error) {
      return { exitCode: null, error: `running the container of job '${job.name}' failed: ${engineMessage(error)}` };
    } finally {
      context.signal.removeEventListener('abort', stop);
      await container.remove({ force: true, v: true }).catch((error) => this.logger.warn(`removing container ${options.name}: ${engineMessage(error)}`));
      this.active--;
    }
  }

  /** Streams the container's stdout and stderr into the job's console until it ends. */
  private async follow(container: Docker.Container, context: ExecutionContext): Promise<void> {
    const stream = (await container.logs({ follow: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
    const out = new PassThrough();
    out.on('data', (chunk: Buffer) => context.onOutput(chunk.toString('utf8')));
    this.docker.modem.demuxStream(stream, out, out);
    // Done once `out` has handed on every byte the engine sent: the last chunk written before the
    // log stream ended may not have been emitted yet, and the console closes when this resolves.
    await new Promise<void>((resolve) => {
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        out.end();
      };
      stream.on('end', end);
      stream.on('close', end);
      stream.on('error', end);
      out.on('end', resolve);
    });
  }
}

/** The job's folders and nothing else: inputs read-only, the rest writable. */
function mounts(folders: SandboxFolders): string[] {
  return [
    `${folders.context}:${JOB_VIEW.context}`,
    `${folders.inputs}:${JOB_VIEW.inputs}:ro`,
    `${folders.output}:${JOB_VIEW.output}`,
    `${folders.cache}:${JOB_VIEW.cache}`,
    `${folders.upload}:${JOB_VIEW.upload}`,
  ];
}
