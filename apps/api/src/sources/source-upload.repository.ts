import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';

/** A source uploaded to a cluster, whose is it and what its bytes are. */
export interface SourceUpload {
  uploadId: string;
  projectId: string;
  cluster: string;
  storageKey: string;
  size: number;
  sha256: string;
}

interface SourceUploadRow {
  id: string;
  project_id: string;
  cluster_name: string;
  storage_key: string;
  size_bytes: string;
  sha256: string;
}

/** SQL for `source_upload`. */
@Injectable()
export class SourceUploadRepository {
  constructor(private readonly db: Database) {}

  async record(upload: SourceUpload): Promise<void> {
    await this.db.query(
      `INSERT INTO source_upload (id, project_id, cluster_name, storage_key, size_bytes, sha256) VALUES ($1, $2, $3, $4, $5, $6)`,
      [upload.uploadId, upload.projectId, upload.cluster, upload.storageKey, upload.size, upload.sha256],
    );
  }

  /** The upload `uploadId` of project `projectId` taken by `cluster`; null when there is none. */
  async find(uploadId: string, projectId: string, cluster: string): Promise<SourceUpload | null> {
    const [row] = await this.db.query<SourceUploadRow>(
      `SELECT id, project_id, cluster_name, storage_key, size_bytes, sha256 FROM source_upload WHERE id = $1 AND project_id = $2 AND cluster_name = $3`,
      [uploadId, projectId, cluster],
    );
    return row
      ? { uploadId: row.id, projectId: row.project_id, cluster: row.cluster_name, storageKey: row.storage_key, size: Number(row.size_bytes), sha256: row.sha256 }
      : null;
  }
}
