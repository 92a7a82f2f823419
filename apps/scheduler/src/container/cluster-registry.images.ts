import type Docker from 'dockerode';
import type { TokenService } from '@infrabox/auth';
import { engineMessage, followEngineProgress, RegistryClient, type RegistryCredentials } from '@infrabox/containers';
import type { Job, JobImage, JobImageRepository, ParentLink } from '@infrabox/jobs';
import type { BuiltImageName } from './job-image.names';

/** Registry clients log in with any name and an InfraBox token as the password. */
const TOKEN_USER = 'infrabox';
/** A job's registry token outlives the push or pull it is made for by far. */
const TOKEN_TTL_SECONDS = 900;

/**
 * The images of `docker` jobs in this cluster's registry, as the container executor sees them:
 * a built image is pushed there through the engine (with the job's own token, which may push its
 * project's repositories only) and recorded with its digest; a child that runs it
 * (`"image": {"job": …}`) gets it by that digest from this registry, where the output-forwarder
 * copied it when it was built on another cluster.
 */
export class ClusterRegistryImages {
  constructor(
    private readonly docker: Docker,
    private readonly tokens: TokenService,
    private readonly images: JobImageRepository,
    /** e.g. http://127.0.0.1:9080 */
    private readonly registryUrl: string,
    private readonly cluster: string,
  ) {}

  /** The credentials of `job` for this registry (its project's repositories). */
  async credentials(job: Job, projectId: string, parents: readonly ParentLink[]): Promise<RegistryCredentials> {
    const password = await this.tokens.issueJobToken({ id: job.id, buildId: job.buildId, projectId, parentIds: parents.map((p) => p.parentId) }, TOKEN_TTL_SECONDS);
    return { username: TOKEN_USER, password };
  }

  /** Pushes the image built as `built` and records it; null when done, else the reason. */
  async push(job: Job, built: BuiltImageName, credentials: RegistryCredentials, onOutput: (text: string) => void, signal: AbortSignal): Promise<string | null> {
    const host = new URL(this.registryUrl).host;
    onOutput(`pushing ${built.name}\n`);
    try {
      const stream = await this.docker.getImage(`${host}/${built.repository}`).push({
        tag: built.tag,
        authconfig: { ...credentials, serveraddress: host },
        // Podman's service reads it (the cluster's registry speaks plain HTTP on loopback); dockerd ignores it.
        tlsVerify: false,
        abortSignal: signal,
      } as Docker.ImagePushOptions);
      await followEngineProgress(this.docker, stream);
    } catch (error) {
      if (signal.aborted) return 'aborted';
      return `${engineMessage(error)}${hint(engineMessage(error), this.registryUrl)}`;
    }
    try {
      const manifest = await new RegistryClient(this.registryUrl, credentials).manifest(built.repository, built.tag);
      const size = manifest.bytes.length + manifest.config.size + manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
      await this.images.record({ jobId: job.id, cluster: this.cluster, repository: built.repository, tag: built.tag, digest: manifest.digest, size });
      onOutput(`pushed ${built.name}@${manifest.digest}\n`);
      return null;
    } catch (error) {
      return `the registry does not show the pushed image: ${(error as Error).message}`;
    }
  }

  /** Where the image a parent built is in this registry (by digest), or why it is not. */
  async builtBy(parent: ParentLink | undefined, jobName: string, parentName: string): Promise<{ name: string; record: JobImage } | { error: string }> {
    if (!parent) return { error: `job '${jobName}': its image is built by '${parentName}', which is not among its parents` };
    const record = await this.images.find(parent.parentId, this.cluster);
    if (!record) return { error: `job '${jobName}': the image job '${parentName}' built is not in the registry of cluster ${this.cluster}` };
    return { name: `${new URL(this.registryUrl).host}/${record.repository}@${record.digest}`, record };
  }
}

/** What to do about the engine's usual complaint about a plain-HTTP registry. */
function hint(message: string, registryUrl: string): string {
  if (/HTTP response to HTTPS client/i.test(message)) {
    return ` (the engine expects HTTPS: list ${new URL(registryUrl).host} as an insecure registry — registries.conf for Podman, "insecure-registries" for dockerd)`;
  }
  if (/connection refused|ECONNREFUSED/i.test(message)) return ` (is this cluster's registry running at ${registryUrl}?)`;
  return '';
}
