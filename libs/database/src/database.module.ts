import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { connectDatabase, createPool, Database } from './database.service';
import { startEmbeddedPostgres, RunningPostgres } from './embedded-postgres';
import { migrate } from './migration.runner';

const EMBEDDED_SERVER = Symbol('EMBEDDED_SERVER');

@Injectable()
class DatabaseLifecycle implements OnApplicationShutdown {
  constructor(
    private readonly database: Database,
    @Inject(EMBEDDED_SERVER) private readonly embedded: RunningPostgres | null,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.database.close();
    await this.embedded?.stop();
  }
}

/**
 * Connects to the configured PostgreSQL — or starts/joins the embedded one when none is
 * configured — and applies pending migrations before anything else runs.
 */
@Global()
@Module({
  providers: [
    {
      provide: EMBEDDED_SERVER,
      inject: [INSTALL_CONFIG],
      useFactory: async (config: InstallConfig): Promise<RunningPostgres | null> => {
        if (config.database.kind !== 'embedded') return null;
        const server = await startEmbeddedPostgres({ dataDir: config.database.dataDir, port: config.database.port });
        new Logger('Database').log(
          `${server.owned ? 'started' : 'joined'} embedded PostgreSQL on port ${config.database.port} (${config.database.dataDir})`,
        );
        return server;
      },
    },
    {
      provide: Database,
      inject: [INSTALL_CONFIG, EMBEDDED_SERVER],
      useFactory: async (config: InstallConfig, embedded: RunningPostgres | null): Promise<Database> => {
        const urls = embedded ? { url: embedded.url } : config.database.kind === 'postgres' ? config.database : { url: '' };
        // Migrations hold a session lock: a direct connection, of their own, closed once done.
        const migrations = createPool(urls.url, 1);
        try {
          const { applied } = await migrate(migrations);
          if (applied.length > 0) new Logger('Database').log(`applied migrations ${applied.join(', ')}`);
        } finally {
          await migrations.end();
        }
        return connectDatabase(urls, `infrabox[${process.pid}] ${config.cluster.name} pool`);
      },
    },
    DatabaseLifecycle,
  ],
  exports: [Database],
})
export class DatabaseModule {}
