import 'reflect-metadata';
import { runApp } from '@infrabox/app-runtime';
import { ApiModule } from './api.module';

runApp({ name: 'api', module: (config) => ApiModule.forConfig(config), servesApi: true }).catch((error: Error) => {
  process.stderr.write(`infrabox api: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
