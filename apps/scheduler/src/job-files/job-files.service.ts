import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { unpackTar } from '@infrabox/archive';
import { INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { BuildSourceRepository, JobOutput, JobOutputRepository, outputKey, ParentLink } from '@infrabox/jobs';
import { sandboxFolders, SandboxStaging } from '@infrabox/job-sandbox';
import { InjectObjectStorage, ObjectStorage } from '@infrabox/storage';


/**
 * A job's files on its cluster: its parents' outputs in, its own output out, both through this
 * cluster's storage. Bytes from other clusters arrive through the output-forwarder first.
 */
@Injectable()
export class JobFilesService {
  private readonly cluster: string;

  constructor(
    private readonly outputs: JobOutputRepository,
    private readonly sources: BuildSourceRepository,
    @InjectObjectStorage() private readonly storage: ObjectStorage,
    @Inject(INSTALL_CONFIG) config: InstallConfig,
  ) {
    this.cluster = config.cluster.name;
  }

  /**
   * Unpacks each parent's output into `<inputsDir>/<parent name>` (an empty folder for a parent
   * without output). Every archive is verified against its recorded sha256 and unpacked into a
   * temporary folder first, so a job never sees a partial or corrupt input.
   */
  async unpackInputs(parents: readonly ParentLink[], inputsDir: string): Promise<void> {
    const copies = await this.outputs.findForJobs(parents.map((p) => p.parentId));
    for (const parent of parents) {
      const dest = path.join(inputsDir, parent.parentName);
      const local = copies.find((c) => c.jobId === parent.parentId && c.cluster === this.cluster);
      if (!local?.storageKey) {
        await mkdir(dest, { recursive: true });
        continue;
      }
      await mkdir(path.dirname(dest), { recursive: true });
      await unpackTar(await this.storage.get(local.storageKey), dest, { expectedSha256: local.sha256, expectedSize: local.size });
    }
  }

  /**
   * Unpacks the build's source into `workDir` (the command's working directory, empty until now),
   * verified against its recorded size and sha256 before any file becomes visible.
   */
  async unpackSource(buildId: string, workDir: string): Promise<void> {
    const local = await this.sources.find(buildId, this.cluster);
    if (!local) throw new Error(`the source of build ${buildId} is not on cluster ${this.cluster}`);
    await unpackTar(await this.storage.get(local.storageKey), workDir, { expectedSha256: local.sha256, expectedSize: local.size });
  }

  /** Packs the job's output folder into this cluster's storage; an empty folder stores nothing. */
  async storeOutput(jobId: string, outputDir: string): Promise<JobOutput> {
    const key = outputKey(jobId);
    const staging = new SandboxStaging({ ...sandboxFolders(path.dirname(outputDir)), output: outputDir });
    const report = await staging.stageOut((packed) => this.storage.put(key, packed));
    return { jobId, cluster: this.cluster, storageKey: report.stored ? key : null, size: report.size, sha256: report.sha256 };
  }
}
