import { Injectable } from '@nestjs/common';
import { CurrentCluster } from '@infrabox/config';
import { ArtifactCopyRepository, JobOutput, outputKey, ParentLink } from '@infrabox/jobs';
import { SandboxStaging } from '@infrabox/job-sandbox';
import { InjectObjectStorage, ObjectStorage } from '@infrabox/storage';

/**
 * A job's files on its cluster: the build's source and its parents' outputs in, its own output
 * out, both through this cluster's storage and the job-sandbox staging (verified, never a
 * partial file where the job sees it). Bytes from other clusters arrive through the
 * output-forwarder first.
 */
@Injectable()
export class JobFilesService {
  private readonly cluster: string;

  constructor(
    private readonly copies: ArtifactCopyRepository,
    @InjectObjectStorage() private readonly storage: ObjectStorage,
    cluster: CurrentCluster,
  ) {
    this.cluster = cluster.name;
  }

  /** Each parent's output into `inputs/<parent name>` (an empty folder for a parent without output). */
  async stageInputs(staging: SandboxStaging, parents: readonly ParentLink[]): Promise<void> {
    const copies = await this.copies.findAll('output', parents.map((p) => p.parentId));
    for (const parent of parents) {
      const local = copies.find((c) => c.id === parent.parentId && c.cluster === this.cluster);
      const key = local?.storageKey;
      await staging.stageInput(parent.parentName, key ? { open: () => this.storage.get(key), sha256: local.sha256, size: local.size } : null);
    }
  }

  /** The build's source into `context` (the command's working directory, empty until now). */
  async stageSource(staging: SandboxStaging, buildId: string): Promise<void> {
    const local = await this.copies.find('source', buildId, this.cluster);
    const key = local?.storageKey;
    if (!key) throw new Error(`the source of build ${buildId} is not on cluster ${this.cluster}`);
    await staging.stageSource({ open: () => this.storage.get(key), sha256: local.sha256, size: local.size });
  }

  /** Packs the job's output folder into this cluster's storage; an empty folder stores nothing. */
  async storeOutput(jobId: string, staging: SandboxStaging): Promise<JobOutput> {
    const key = outputKey(this.cluster, jobId);
    const report = await staging.stageOut((packed) => this.storage.put(key, packed));
    return { jobId, cluster: this.cluster, storageKey: report.stored ? key : null, size: report.size, sha256: report.sha256 };
  }
}
