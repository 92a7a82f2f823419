import { Readable } from 'node:stream';
import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { CurrentCluster, INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { ArtifactCopy, ArtifactCopyRepository, JobRepository, outputKey } from '@infrabox/jobs';
import type { StoredOutputDto } from '@infrabox/contract';
import { InjectObjectStorage, ObjectStorage } from '@infrabox/storage';
import type { ArchiveLimits } from '@infrabox/archive';
import { archiveLimitsOf, receiveTar } from '../http/received-tar';

/**
 * The data a running job exchanges with its cluster's API (the Kubernetes executor's pods use
 * it; the process executor reads the same storage directly): its build's source and its
 * parents' outputs in, its own output out.
 */
@Injectable()
export class JobDataService {
  private readonly cluster: string;
  private readonly limits: ArchiveLimits;

  constructor(
    private readonly jobs: JobRepository,
    private readonly copies: ArtifactCopyRepository,
    @InjectObjectStorage() private readonly storage: ObjectStorage,
    @Inject(INSTALL_CONFIG) config: InstallConfig,
    cluster: CurrentCluster,
  ) {
    this.cluster = cluster.name;
    this.limits = archiveLimitsOf(config);
  }

  /** A parent's output as held on this cluster (forwarded here first when it ran elsewhere). */
  async openInput(parentJobId: string): Promise<{ output: ArtifactCopy; stream: Readable }> {
    const output = await this.copies.find('output', parentJobId, this.cluster);
    if (!output) throw new NotFoundException(`the output of job '${parentJobId}' is not on cluster ${this.cluster} (yet)`);
    const stream = output.storageKey ? await this.storage.get(output.storageKey) : Readable.from([]);
    return { output, stream };
  }

  /** The job's build source as held on this cluster (fetched here before the job was started). */
  async openSource(jobId: string): Promise<{ source: ArtifactCopy; stream: Readable }> {
    const job = await this.jobs.findById(jobId);
    if (!job) throw new NotFoundException(`job '${jobId}' not found`);
    const source = await this.copies.find('source', job.buildId, this.cluster);
    if (!source?.storageKey) throw new NotFoundException(`the source of build '${job.buildId}' is not on cluster ${this.cluster} (yet)`);
    return { source, stream: await this.storage.get(source.storageKey) };
  }

  /**
   * Stores a running job's output tar on this cluster; its end records it. A body that is no safe,
   * whole tar archive is refused (422) and the job's stored output, if any, stays as it was.
   */
  async storeOutput(jobId: string, body: Readable): Promise<StoredOutputDto> {
    const job = await this.jobs.findById(jobId);
    if (!job) {
      body.resume();
      throw new NotFoundException(`job '${jobId}' not found`);
    }
    if (job.state !== 'running' || job.cluster !== this.cluster) {
      body.resume();
      throw new ConflictException(`job '${job.name}' is ${job.state} on ${job.cluster ?? 'no cluster'}: only a job running here writes its output`);
    }
    const tar = receiveTar(body, `output of job '${job.name}'`, this.limits);
    try {
      return await this.storage.put(outputKey(this.cluster, jobId), tar.stream);
    } catch (error) {
      throw tar.problem() ?? error;
    }
  }
}
