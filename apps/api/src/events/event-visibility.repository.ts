import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';

/** Which of some jobs and builds belong to some projects: the event stream's filter for non-admins. */
@Injectable()
export class EventVisibilityRepository {
  constructor(private readonly db: Database) {}

  /** The ids among `jobIds` and `buildIds` whose build is of one of `projectIds`. */
  async ofProjects(jobIds: readonly string[], buildIds: readonly string[], projectIds: readonly string[]): Promise<Set<string>> {
    if (projectIds.length === 0 || (jobIds.length === 0 && buildIds.length === 0)) return new Set();
    const rows = await this.db.query<{ id: string }>(
      `SELECT j.id FROM job j JOIN build b ON b.id = j.build_id WHERE j.id = ANY($1::uuid[]) AND b.project_id = ANY($3::uuid[])
       UNION ALL
       SELECT b.id FROM build b WHERE b.id = ANY($2::uuid[]) AND b.project_id = ANY($3::uuid[])`,
      [jobIds, buildIds, projectIds],
    );
    return new Set(rows.map((row) => row.id));
  }
}
