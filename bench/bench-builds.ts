import { currentClusterOf, parseInstallConfig } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { EventRepository, PgEventClient } from '@infrabox/events';
import { BuildRepository, JobRepository, JobStatsRepository, ProjectRepository } from '@infrabox/jobs';
import { BuildsService } from '../apps/api/src/builds/builds.service';

/**
 * The api's build creation without an api process: builds are taken "by" `cluster`, whose
 * scheduler places them (build.created is scoped to it, as on a real api).
 */
export function benchBuilds(db: Database, cluster: string): BuildsService {
  const config = parseInstallConfig(`host: http://127.0.0.1:1\ncluster:\n  name: ${cluster}\n`, { DATABASE_URL: db.url });
  return new BuildsService(db, new ProjectRepository(db), new BuildRepository(db), new JobRepository(db), new JobStatsRepository(db), new PgEventClient(new EventRepository(db)), currentClusterOf(config));
}
