/** One cluster's scheduler for bench:scheduling: the real app module, with the no-op executor. */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { parseInstallConfig } from '@infrabox/config';
import { PgEventServer } from '@infrabox/events';
import { SchedulerModule } from '../apps/scheduler/src/scheduler.module';
import { NoopExecutor } from './noop.executor';

async function main(): Promise<void> {
  const [url, cluster, workRoot] = process.argv.slice(2);
  const config = parseInstallConfig(`host: http://127.0.0.1:1\ncluster:\n  name: ${cluster}\n`, { DATABASE_URL: url });
  const app = await NestFactory.create(SchedulerModule.forConfig(config, { workRoot, maxParallelJobs: 32 }, NoopExecutor), {
    logger: ['error', 'warn'],
  });
  app.connectMicroservice({ strategy: app.get(PgEventServer) });
  await app.startAllMicroservices();
  await app.init();
  process.stdout.write('READY\n');
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
