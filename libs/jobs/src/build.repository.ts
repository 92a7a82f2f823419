import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { Build } from './job.types';

interface BuildRow {
  id: string;
  project_id: string;
  number: number;
  created_at: Date;
}

/** SQL for `build`. */
@Injectable()
export class BuildRepository {
  constructor(private readonly db: Database) {}

  /** Numbers builds 1, 2, 3… per project; call inside a transaction (the lock is transaction-scoped). */
  async create(projectId: string): Promise<Build> {
    await this.db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`build-number:${projectId}`]);
    const [row] = await this.db.query<BuildRow>(
      `INSERT INTO build (project_id, number)
       SELECT $1, coalesce(max(number), 0) + 1 FROM build WHERE project_id = $1
       RETURNING id, project_id, number, created_at`,
      [projectId],
    );
    return toBuild(row);
  }

  async findById(id: string): Promise<Build | null> {
    const [row] = await this.db.query<BuildRow>('SELECT id, project_id, number, created_at FROM build WHERE id = $1', [id]);
    return row ? toBuild(row) : null;
  }

  /** The project name of each build (placement's question for protected clusters). */
  async projectNames(buildIds: readonly string[]): Promise<Map<string, string>> {
    const rows = await this.db.query<{ id: string; name: string }>(
      'SELECT b.id, p.name FROM build b JOIN project p ON p.id = b.project_id WHERE b.id = ANY($1::uuid[])',
      [buildIds],
    );
    return new Map(rows.map((row) => [row.id, row.name]));
  }

  /**
   * The newest builds of the projects `projectIds` (null: of every project), newest first; with
   * `before` (a build id) only those older than that build: the next page of a listing.
   */
  async findRecent(limit: number, projectIds: readonly string[] | null, before?: string): Promise<Array<Build & { projectName: string }>> {
    const rows = await this.db.query<BuildRow & { project_name: string }>(
      `SELECT b.id, b.project_id, b.number, b.created_at, p.name AS project_name
         FROM build b JOIN project p ON p.id = b.project_id
        WHERE ($2::uuid[] IS NULL OR b.project_id = ANY($2::uuid[]))
          AND ($3::uuid IS NULL OR (b.created_at, b.id) < (SELECT created_at, id FROM build WHERE id = $3))
        ORDER BY b.created_at DESC, b.id DESC LIMIT $1`,
      [limit, projectIds, before ?? null],
    );
    return rows.map((row) => ({ ...toBuild(row), projectName: row.project_name }));
  }
}

function toBuild(row: BuildRow): Build {
  return { id: row.id, projectId: row.project_id, number: row.number, createdAt: row.created_at };
}
