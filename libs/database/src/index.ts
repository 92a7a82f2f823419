export { Database, createPool } from './database.service';
export { DatabaseModule } from './database.module';
export { migrate } from './migration.runner';
export { migrations } from './migrations';
export type { Migration } from './migrations';
export { startEmbeddedPostgres } from './embedded-postgres';
export type { RunningPostgres, EmbeddedPostgresOptions } from './embedded-postgres';
export { LeaderLock } from './leader.lock';
export type { LeaderLockOptions } from './leader.lock';
