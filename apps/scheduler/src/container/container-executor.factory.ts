import { Logger } from '@nestjs/common';
import { currentClusterOf, type InstallConfig, registryOf } from '@infrabox/config';
import type { TokenService } from '@infrabox/auth';
import type { BuildRepository, JobImageRepository, ProjectRepository } from '@infrabox/jobs';
import type { HostSandbox } from '../job-files/host-sandbox.service';
import type { JobExecutor } from '../execution/job-executor';
import { ProcessExecutor } from '../execution/process.executor';
import { engineCandidates, findContainerEngine, NO_ENGINE_WARNING } from '@infrabox/containers';
import { BuiltImages } from '../images/built-images.service';
import { ContainerExecutor } from './container.executor';
import { JobImageNames } from '../images/job-image.names';

/**
 * The executor of `scheduler.executor: container`, or of a config that named none: containers
 * through the first engine that answers (or a Podman service started for it); without one,
 * local processes when the config named no executor, and a clear stop when it asked for containers.
 */
export type ContainerExecutorDependencies = [HostSandbox, InstallConfig, BuildRepository, ProjectRepository, JobImageRepository, TokenService];

export async function createContainerExecutor(...[sandbox, config, builds, projects, images, tokens]: ContainerExecutorDependencies): Promise<JobExecutor> {
  const scheduler = config.scheduler;
  if (scheduler?.executor !== 'container') throw new Error('the container executor needs scheduler.executor: container');
  const cluster = currentClusterOf(config).name;
  const logger = new Logger(`scheduler@${cluster}`);
  const registryUrl = registryOf(config).url;
  // A Podman service started here speaks HTTP to this cluster's registry (its children pull from it).
  const engine = await findContainerEngine(process.env, { insecureRegistries: [new URL(registryUrl).host] }).catch((error: Error) => {
    logger.warn(`no container engine: ${error.message}`);
    return null;
  });
  if (!engine) {
    if (scheduler.orProcess) {
      logger.warn(NO_ENGINE_WARNING);
      return new ProcessExecutor(sandbox);
    }
    throw new Error(`scheduler.executor is container, but no container engine answers (tried ${engineCandidates().join(', ')}; Podman is not installed): install Podman or Docker, or set DOCKER_HOST`);
  }
  logger.log(`jobs run in containers on ${engine.description}`);
  const names = new JobImageNames(builds, projects, new URL(registryUrl).host);
  const registry = new BuiltImages(tokens, images, registryUrl, cluster);
  return new ContainerExecutor(engine, sandbox, scheduler.container, names, registry, cluster);
}
