import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import type { ArtifactCopy, ArtifactKind } from './artifact-copy.types';

interface ArtifactCopyRow {
  id: string;
  cluster_name: string;
  storage_key: string | null;
  size_bytes: string;
  sha256: string;
}

/** Where a kind's copies are, and which of them others are copied from. */
interface KindTable {
  table: 'job_output' | 'build_source';
  /** The column of the id: the job's, the build's. */
  id: 'job_id' | 'build_id';
  /** Copies a cluster may fetch `$1` from, the preferred first (alias `c`). */
  holders: string;
  /** (id, holder, cluster without a copy that needs one) where `$1` is the holder or that cluster. */
  needed: string;
}

const TABLES: Readonly<Record<ArtifactKind, KindTable>> = {
  // An output is copied from the cluster its job ran on, to the clusters of its queued children.
  output: {
    table: 'job_output',
    id: 'job_id',
    holders: `FROM job_output c JOIN job j ON j.id = c.job_id AND j.cluster_name = c.cluster_name WHERE c.job_id = $1 AND c.storage_key IS NOT NULL`,
    needed: `SELECT DISTINCT o.job_id AS "id", o.cluster_name AS "from", c.cluster_name AS "to"
               FROM job_output o
               JOIN job p ON p.id = o.job_id AND p.cluster_name = o.cluster_name
               JOIN job_dependency d ON d.parent_job_id = p.id
               JOIN job c ON c.id = d.job_id
              WHERE o.size_bytes > 0 AND c.state = 'queued' AND c.cluster_name IS NOT NULL
                AND c.cluster_name <> o.cluster_name AND $1 IN (o.cluster_name, c.cluster_name)
                AND NOT EXISTS (SELECT 1 FROM job_output l WHERE l.job_id = o.job_id AND l.cluster_name = c.cluster_name)`,
  },
  // A source is copied from any cluster holding it (the upload first), to the clusters of the build's queued jobs.
  source: {
    table: 'build_source',
    id: 'build_id',
    holders: `FROM build_source c WHERE c.build_id = $1 ORDER BY c.created_at, c.cluster_name`,
    needed: `SELECT DISTINCT s.build_id AS "id", s.cluster_name AS "from", j.cluster_name AS "to"
               FROM build_source s
               JOIN job j ON j.build_id = s.build_id
              WHERE j.state = 'queued' AND j.cluster_name IS NOT NULL
                AND j.cluster_name <> s.cluster_name AND $1 IN (s.cluster_name, j.cluster_name)
                AND NOT EXISTS (SELECT 1 FROM build_source l WHERE l.build_id = s.build_id AND l.cluster_name = j.cluster_name)`,
  },
};

/** A copy to make: of artifact `id`, from a cluster holding it to one that needs it. */
export interface NeededCopy {
  id: string;
  from: string;
  to: string;
}

/** SQL for the copies of artifacts: `job_output` (outputs) and `build_source` (sources). */
@Injectable()
export class ArtifactCopyRepository {
  constructor(private readonly db: Database) {}

  /** Records a copy; recording the same copy again (a re-delivered event) changes nothing (false). */
  async record(kind: ArtifactKind, copy: ArtifactCopy): Promise<boolean> {
    const { table, id } = TABLES[kind];
    const rows = await this.db.query(
      `INSERT INTO ${table} (${id}, cluster_name, storage_key, size_bytes, sha256)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (${id}, cluster_name) DO NOTHING RETURNING ${id}`,
      [copy.id, copy.cluster, copy.storageKey, copy.size, copy.sha256],
    );
    return rows.length > 0;
  }

  /** Records many copies in one statement (the ends of a group commit). */
  async recordMany(kind: ArtifactKind, copies: readonly ArtifactCopy[]): Promise<void> {
    if (copies.length === 0) return;
    const { table, id } = TABLES[kind];
    await this.db.query(
      `INSERT INTO ${table} (${id}, cluster_name, storage_key, size_bytes, sha256)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::text[])
       ON CONFLICT (${id}, cluster_name) DO NOTHING`,
      [copies.map((c) => c.id), copies.map((c) => c.cluster), copies.map((c) => c.storageKey), copies.map((c) => c.size), copies.map((c) => c.sha256)],
      `${table}_record_many`,
    );
  }

  async find(kind: ArtifactKind, id: string, cluster: string): Promise<ArtifactCopy | null> {
    const table = TABLES[kind];
    const [row] = await this.db.query<ArtifactCopyRow>(`SELECT ${columns(table)} FROM ${table.table} c WHERE c.${table.id} = $1 AND c.cluster_name = $2`, [id, cluster]);
    return row ? toCopy(row) : null;
  }

  /** Every copy of the given artifacts, oldest first. */
  async findAll(kind: ArtifactKind, ids: readonly string[]): Promise<ArtifactCopy[]> {
    if (ids.length === 0) return [];
    const table = TABLES[kind];
    const rows = await this.db.query<ArtifactCopyRow>(
      `SELECT ${columns(table)} FROM ${table.table} c WHERE c.${table.id} = ANY($1::uuid[]) ORDER BY c.created_at, c.cluster_name`,
      [ids],
    );
    return rows.map(toCopy);
  }

  /**
   * The copies with bytes that others are made from, the preferred first: an output's on the
   * cluster its job ran on; every copy of a source, the upload first. Every copy has their size
   * and sha256.
   */
  async holders(kind: ArtifactKind, id: string): Promise<ArtifactCopy[]> {
    const table = TABLES[kind];
    const rows = await this.db.query<ArtifactCopyRow>(`SELECT ${columns(table)} ${table.holders}`, [id]);
    return rows.map(toCopy);
  }

  /** Copies to make where `cluster` holds the artifact or needs it (see KindTable.needed). */
  neededCopies(kind: ArtifactKind, cluster: string): Promise<NeededCopy[]> {
    return this.db.query<NeededCopy>(TABLES[kind].needed, [cluster]);
  }
}

function columns(table: KindTable): string {
  return `c.${table.id} AS id, c.cluster_name, c.storage_key, c.size_bytes, c.sha256`;
}

function toCopy(row: ArtifactCopyRow): ArtifactCopy {
  return { id: row.id, cluster: row.cluster_name, storageKey: row.storage_key, size: Number(row.size_bytes), sha256: row.sha256 };
}
