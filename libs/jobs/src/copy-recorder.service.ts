import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { forCluster, PgEventClient } from '@infrabox/events';
import { ArtifactCopyRepository } from './artifact-copy.repository';
import type { ArtifactCopy, ArtifactKind } from './artifact-copy.types';
import { BUILD_SOURCE_READY, JOB_INPUTS_READY } from './job.events';
import { JobImage, JobImageRepository } from './job-image.repository';

/**
 * Records a verified copy of an artifact (a job's output, a build's source) or of a docker job's
 * image on a cluster and announces it, scoped, to that cluster's schedulers, in one transaction —
 * whether the copy was pulled (output-forwarder) or received by push (api). An output or an image
 * is a child's input (`job.inputs.ready`), a source the build's (`build.source.ready`). Recording
 * a copy twice changes nothing and announces nothing (false).
 */
@Injectable()
export class CopyRecorder {
  constructor(
    private readonly db: Database,
    private readonly copies: ArtifactCopyRepository,
    private readonly images: JobImageRepository,
    private readonly events: PgEventClient,
  ) {}

  record(kind: ArtifactKind, copy: ArtifactCopy): Promise<boolean> {
    return this.announced(
      () => this.copies.record(kind, copy),
      () =>
        kind === 'source'
          ? this.events.emit(BUILD_SOURCE_READY, forCluster(copy.cluster, { buildId: copy.id, cluster: copy.cluster }))
          : this.inputReady(copy.id, copy.cluster),
    );
  }

  /** A copy of a docker job's image in a cluster's registry. */
  recordImage(copy: JobImage): Promise<boolean> {
    return this.announced(
      () => this.images.record(copy),
      () => this.inputReady(copy.jobId, copy.cluster),
    );
  }

  private inputReady(jobId: string, cluster: string): Promise<unknown> {
    return this.events.emit(JOB_INPUTS_READY, forCluster(cluster, { jobId, cluster }));
  }

  private announced(record: () => Promise<boolean>, announce: () => Promise<unknown>): Promise<boolean> {
    return this.db.transaction(async () => {
      if (!(await record())) return false;
      await announce();
      return true;
    });
  }
}
