import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { ArtifactKind, FINAL_STATES } from '@infrabox/jobs';

/**
 * Which jobs need an artifact on a cluster, while they have not ended: for an output (`$2` a
 * job), a job with it among its direct parents; for a source (`$2` a build), a job of the build.
 */
const NEEDED_BY: Readonly<Record<ArtifactKind, string>> = {
  output: `SELECT 1 FROM job_dependency d JOIN job c ON c.id = d.job_id
            WHERE d.parent_job_id = $2 AND c.cluster_name = $1 AND NOT (c.state::text = ANY($3::text[]))`,
  source: `SELECT 1 FROM job WHERE build_id = $2 AND cluster_name = $1 AND NOT (state::text = ANY($3::text[]))`,
};

/**
 * What a peer cluster's token may move, read from the database: a peer fetches an artifact only
 * while it runs (or will run) a job that needs it, and pushes one only when it holds a copy and a
 * job here needs it.
 */
@Injectable()
export class PeerAccessRepository {
  constructor(private readonly db: Database) {}

  /** A job placed on `cluster` that has not ended needs artifact `id` of `kind`. */
  async needs(kind: ArtifactKind, cluster: string, id: string): Promise<boolean> {
    const [row] = await this.db.query<{ found: boolean }>(`SELECT EXISTS (${NEEDED_BY[kind]}) AS found`, [cluster, id, FINAL_STATES]);
    return row?.found === true;
  }
}
