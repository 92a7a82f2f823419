import 'reflect-metadata';
import { runApp } from '@infrabox/app-runtime';
import { SchedulerModule } from './scheduler.module';

runApp({ name: 'scheduler', module: (config) => SchedulerModule.forConfig(config), servesApi: false }).catch((error: Error) => {
  process.stderr.write(`infrabox scheduler: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
