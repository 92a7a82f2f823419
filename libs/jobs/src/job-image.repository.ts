import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import type { NeededCopy } from './artifact-copy.repository';

/** One copy of the image a `docker` job built, in one cluster's registry. */
export interface JobImage {
  jobId: string;
  cluster: string;
  /** Repository in that registry, e.g. `demo/build`. */
  repository: string;
  /** e.g. `build_12` */
  tag: string;
  /** The manifest's digest: the same for every copy. */
  digest: string;
  /** Bytes of its manifest, config and layers as stored (compressed). */
  size: number;
}

interface JobImageRow {
  job_id: string;
  cluster_name: string;
  repository: string;
  tag: string;
  digest: string;
  size_bytes: string;
}

const COLUMNS = 'i.job_id, i.cluster_name, i.repository, i.tag, i.digest, i.size_bytes';

/**
 * SQL for `job_image`: where the images of `docker` jobs are, and which must be copied for a
 * child (`"image": {"job": …}`) that runs on another cluster.
 */
@Injectable()
export class JobImageRepository {
  constructor(private readonly db: Database) {}

  /** Records a copy; a second record of the same copy changes nothing (false). */
  async record(image: JobImage): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO job_image (job_id, cluster_name, repository, tag, digest, size_bytes)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job_id, cluster_name) DO NOTHING RETURNING job_id`,
      [image.jobId, image.cluster, image.repository, image.tag, image.digest, image.size],
    );
    return rows.length > 0;
  }

  async find(jobId: string, cluster: string): Promise<JobImage | null> {
    const [row] = await this.db.query<JobImageRow>(`SELECT ${COLUMNS} FROM job_image i WHERE i.job_id = $1 AND i.cluster_name = $2`, [jobId, cluster]);
    return row ? toImage(row) : null;
  }

  /** The copy others are made from (as ArtifactCopyRepository.holders): in the registry of the cluster the job was built on. */
  async holders(jobId: string): Promise<JobImage[]> {
    const rows = await this.db.query<JobImageRow>(
      `SELECT ${COLUMNS} FROM job_image i JOIN job j ON j.id = i.job_id AND j.cluster_name = i.cluster_name WHERE i.job_id = $1`,
      [jobId],
    );
    return rows.map(toImage);
  }

  /**
   * Images that must be copied for queued children to run, where `cluster` is the source or the
   * target: (the docker job, the cluster it was built on, a child's cluster without a copy yet).
   */
  async neededCopies(cluster: string): Promise<NeededCopy[]> {
    return this.db.query(
      `SELECT DISTINCT i.job_id AS "id", i.cluster_name AS "from", c.cluster_name AS "to"
         FROM job_image i
         JOIN job p ON p.id = i.job_id AND p.cluster_name = i.cluster_name
         JOIN job_dependency d ON d.parent_job_id = p.id
         JOIN job c ON c.id = d.job_id AND c.definition->'image'->>'job' = p.name
        WHERE c.state = 'queued' AND c.cluster_name IS NOT NULL
          AND c.cluster_name <> i.cluster_name AND $1 IN (i.cluster_name, c.cluster_name)
          AND NOT EXISTS (SELECT 1 FROM job_image l WHERE l.job_id = i.job_id AND l.cluster_name = c.cluster_name)`,
      [cluster],
      'job_image_needed_copies',
    );
  }

  /**
   * Whether `peer` holds an image of project `projectName` that a queued job on `cluster` waits
   * for: what lets the peer push that image into `cluster`'s registry.
   */
  async peerDelivers(peer: string, cluster: string, projectName: string): Promise<boolean> {
    const [row] = await this.db.query<{ delivers: boolean }>(
      `SELECT EXISTS (
         SELECT 1 FROM job c
           JOIN job_dependency d ON d.job_id = c.id
           JOIN job p ON p.id = d.parent_job_id AND p.name = c.definition->'image'->>'job'
           JOIN job_image i ON i.job_id = p.id AND i.cluster_name = $1
           JOIN build b ON b.id = c.build_id JOIN project pr ON pr.id = b.project_id
          WHERE c.cluster_name = $2 AND c.state = 'queued' AND pr.name = $3
       ) AS delivers`,
      [peer, cluster, projectName],
    );
    return row?.delivers === true;
  }
}

function toImage(row: JobImageRow): JobImage {
  return { jobId: row.job_id, cluster: row.cluster_name, repository: row.repository, tag: row.tag, digest: row.digest, size: Number(row.size_bytes) };
}
