import type { TokenService } from '@infrabox/auth';
import { RegistryClient, type RegistryCredentials } from '@infrabox/containers';
import type { Job, JobImage, JobImageRepository, ParentLink } from '@infrabox/jobs';
import type { BuiltImageName } from './job-image.names';

/** Registry clients log in with any name and an InfraBox token as the password. */
export const REGISTRY_TOKEN_USER = 'infrabox';
/** A job's registry token outlives the push or pull it is made for by far. */
const TOKEN_TTL_SECONDS = 900;

/**
 * The images of `docker` jobs in this cluster's registry, for every executor: a built image
 * (pushed there by the engine or by BuildKit, with the job's own token, which may push its
 * project's repositories only) is recorded with the digest the registry gives it; a child that
 * runs it (`"image": {"job": …}`) gets it by that digest from this registry, where the
 * output-forwarder copied it when it was built on another cluster.
 */
export class BuiltImages {
  constructor(
    private readonly tokens: TokenService,
    private readonly images: JobImageRepository,
    /** e.g. http://127.0.0.1:9080 */
    readonly registryUrl: string,
    private readonly cluster: string,
  ) {}

  /** host:port image names of this registry start with. */
  get registryHost(): string {
    return new URL(this.registryUrl).host;
  }

  /** The credentials of `job` for this registry (its project's repositories). */
  async credentials(job: Job, projectId: string, parents: readonly ParentLink[]): Promise<RegistryCredentials> {
    const password = await this.tokens.issueJobToken({ id: job.id, buildId: job.buildId, projectId, parentIds: parents.map((p) => p.parentId) }, TOKEN_TTL_SECONDS);
    return { username: REGISTRY_TOKEN_USER, password };
  }

  /** Records the image pushed as `built` with the digest this registry gives it (which it returns); throws saying why not. */
  async record(job: Job, built: BuiltImageName, credentials: RegistryCredentials): Promise<string> {
    let manifest;
    try {
      manifest = await new RegistryClient(this.registryUrl, credentials).manifest(built.repository, built.tag);
    } catch (error) {
      throw new Error(`the registry does not show the pushed image ${built.name}: ${(error as Error).message}`);
    }
    const size = manifest.bytes.length + manifest.config.size + manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
    await this.images.record({ jobId: job.id, cluster: this.cluster, repository: built.repository, tag: built.tag, digest: manifest.digest, size });
    return manifest.digest;
  }

  /** Where the image a parent built is in this registry (by digest), or why it is not. */
  async builtBy(parents: readonly ParentLink[], jobName: string, parentName: string): Promise<{ name: string; record: JobImage } | { error: string }> {
    const parent = parents.find((p) => p.parentName === parentName);
    if (!parent) return { error: `job '${jobName}': its image is built by '${parentName}', which is not among its parents` };
    const record = await this.images.find(parent.parentId, this.cluster);
    if (!record) return { error: `job '${jobName}': the image job '${parentName}' built is not in the registry of cluster ${this.cluster}` };
    return { name: `${this.registryHost}/${record.repository}@${record.digest}`, record };
  }
}
