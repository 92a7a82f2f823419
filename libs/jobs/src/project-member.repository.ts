import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';

/** A project's member, as listed to admins. */
export interface ProjectMember {
  username: string;
  addedAt: Date;
}

/** SQL for `project_member`: who may see and push which project. */
@Injectable()
export class ProjectMemberRepository {
  constructor(private readonly db: Database) {}

  /** The ids of the projects `username` is a member of. */
  async projectIdsOf(username: string): Promise<string[]> {
    const rows = await this.db.query<{ project_id: string }>('SELECT project_id FROM project_member WHERE username = $1', [username]);
    return rows.map((row) => row.project_id);
  }

  async isMember(projectId: string, username: string): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 FROM project_member WHERE project_id = $1 AND username = $2', [projectId, username]);
    return rows.length > 0;
  }

  async list(projectId: string): Promise<ProjectMember[]> {
    const rows = await this.db.query<{ username: string; added_at: Date }>(
      'SELECT username, added_at FROM project_member WHERE project_id = $1 ORDER BY username',
      [projectId],
    );
    return rows.map((row) => ({ username: row.username, addedAt: row.added_at }));
  }

  /** Adds a member; adding one twice keeps the first time. */
  async add(projectId: string, username: string): Promise<void> {
    await this.db.query('INSERT INTO project_member (project_id, username) VALUES ($1, $2) ON CONFLICT DO NOTHING', [projectId, username]);
  }

  /** Whether there was such a member. */
  async remove(projectId: string, username: string): Promise<boolean> {
    const rows = await this.db.query('DELETE FROM project_member WHERE project_id = $1 AND username = $2 RETURNING 1', [projectId, username]);
    return rows.length > 0;
  }
}
