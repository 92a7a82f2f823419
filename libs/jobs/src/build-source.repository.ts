import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';

/** One copy of a build's source: on the cluster it was uploaded to, or fetched by another. */
export interface BuildSource {
  buildId: string;
  cluster: string;
  storageKey: string;
  size: number;
  sha256: string;
}

interface BuildSourceRow {
  build_id: string;
  cluster_name: string;
  storage_key: string;
  size_bytes: string;
  sha256: string;
}

const COLUMNS = 'build_id, cluster_name, storage_key, size_bytes, sha256';

/** SQL for `build_source`. */
@Injectable()
export class BuildSourceRepository {
  constructor(private readonly db: Database) {}

  /** Records a copy; recording the same copy again (a re-delivered event) changes nothing. */
  async record(source: BuildSource): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO build_source (build_id, cluster_name, storage_key, size_bytes, sha256)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (build_id, cluster_name) DO NOTHING RETURNING build_id`,
      [source.buildId, source.cluster, source.storageKey, source.size, source.sha256],
    );
    return rows.length > 0;
  }

  async find(buildId: string, cluster: string): Promise<BuildSource | null> {
    const [row] = await this.db.query<BuildSourceRow>(`SELECT ${COLUMNS} FROM build_source WHERE build_id = $1 AND cluster_name = $2`, [
      buildId,
      cluster,
    ]);
    return row ? toSource(row) : null;
  }

  /** Every copy of a build's source, oldest first (the upload, then the fetched ones). */
  async findAll(buildId: string): Promise<BuildSource[]> {
    const rows = await this.db.query<BuildSourceRow>(`SELECT ${COLUMNS} FROM build_source WHERE build_id = $1 ORDER BY created_at, cluster_name`, [
      buildId,
    ]);
    return rows.map(toSource);
  }

  /** Builds with a job queued on `cluster` whose source has no copy there yet. */
  async neededOn(cluster: string): Promise<string[]> {
    const rows = await this.db.query<{ build_id: string }>(
      `SELECT DISTINCT j.build_id FROM job j
        WHERE j.state = 'queued' AND j.cluster_name = $1
          AND EXISTS (SELECT 1 FROM build_source s WHERE s.build_id = j.build_id)
          AND NOT EXISTS (SELECT 1 FROM build_source l WHERE l.build_id = j.build_id AND l.cluster_name = $1)`,
      [cluster],
    );
    return rows.map((r) => r.build_id);
  }

  /**
   * Copies `holder` could send: (build whose source `holder` holds, to a cluster with a job of
   * the build queued on it and no copy of the source yet).
   */
  async neededFrom(holder: string): Promise<Array<{ buildId: string; to: string }>> {
    return this.db.query(
      `SELECT DISTINCT s.build_id AS "buildId", j.cluster_name AS "to"
         FROM build_source s
         JOIN job j ON j.build_id = s.build_id
        WHERE s.cluster_name = $1 AND j.state = 'queued' AND j.cluster_name IS NOT NULL AND j.cluster_name <> $1
          AND NOT EXISTS (SELECT 1 FROM build_source l WHERE l.build_id = s.build_id AND l.cluster_name = j.cluster_name)`,
      [holder],
    );
  }
}

function toSource(row: BuildSourceRow): BuildSource {
  return { buildId: row.build_id, cluster: row.cluster_name, storageKey: row.storage_key, size: Number(row.size_bytes), sha256: row.sha256 };
}

