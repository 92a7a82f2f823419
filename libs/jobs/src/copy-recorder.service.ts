import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { forCluster, PgEventClient } from '@infrabox/events';
import { BuildSource, BuildSourceRepository } from './build-source.repository';
import { BUILD_SOURCE_READY, BuildSourceReadyEvent, JOB_INPUTS_READY, JobInputsReadyEvent } from './job.events';
import { JobImage, JobImageRepository } from './job-image.repository';
import { JobOutput, JobOutputRepository } from './job-output.repository';

/**
 * Records a verified copy of a job's output, a docker job's image or a build's source on a cluster and announces it to
 * that cluster's schedulers, in one transaction — whether the copy was pulled (output-forwarder)
 * or received by push (api). Recording a copy twice changes nothing and announces nothing.
 */
@Injectable()
export class CopyRecorder {
  constructor(
    private readonly db: Database,
    private readonly outputs: JobOutputRepository,
    private readonly sources: BuildSourceRepository,
    private readonly images: JobImageRepository,
    private readonly events: PgEventClient,
  ) {}

  /** A job output's copy, announced with the scoped `job.inputs.ready`; false if it was recorded already. */
  recordOutput(copy: JobOutput): Promise<boolean> {
    return this.recordInput(copy, () => this.outputs.record(copy));
  }

  /** A copy of a docker job's image in a cluster's registry, announced like an output's (`job.inputs.ready`); false if recorded already. */
  recordImage(copy: JobImage): Promise<boolean> {
    return this.recordInput(copy, () => this.images.record(copy));
  }

  /** Records a copy that a child's job needs on `copy.cluster` and wakes that cluster's schedulers. */
  private recordInput(copy: { jobId: string; cluster: string }, record: () => Promise<boolean>): Promise<boolean> {
    return this.db.transaction(async () => {
      if (!(await record())) return false;
      const event: JobInputsReadyEvent = { jobId: copy.jobId, cluster: copy.cluster };
      await this.events.emit(JOB_INPUTS_READY, forCluster(copy.cluster, event));
      return true;
    });
  }

  /** A build source's copy, announced with the scoped `build.source.ready`; false if it was recorded already. */
  recordSource(copy: BuildSource): Promise<boolean> {
    return this.db.transaction(async () => {
      if (!(await this.sources.record(copy))) return false;
      const event: BuildSourceReadyEvent = { buildId: copy.buildId, cluster: copy.cluster };
      await this.events.emit(BUILD_SOURCE_READY, forCluster(copy.cluster, event));
      return true;
    });
  }
}
