import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { Project } from './job.types';

/** SQL for `project`. */
@Injectable()
export class ProjectRepository {
  constructor(private readonly db: Database) {}

  async findOrCreate(name: string): Promise<Project> {
    const [row] = await this.db.query<Project>(
      `INSERT INTO project (name) VALUES ($1)
       ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
       RETURNING id, name`,
      [name],
    );
    return row;
  }

  async findById(id: string): Promise<Project | null> {
    const [row] = await this.db.query<Project>('SELECT id, name FROM project WHERE id = $1', [id]);
    return row ?? null;
  }

  async findByName(name: string): Promise<Project | null> {
    const [row] = await this.db.query<Project>('SELECT id, name FROM project WHERE name = $1', [name]);
    return row ?? null;
  }
}
