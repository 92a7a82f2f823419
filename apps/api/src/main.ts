import 'reflect-metadata';
import { runApp } from '@infrabox/app-runtime';
import { ApiModule } from './api.module';
import { configureApiHttp } from './http/http-setup';

runApp({ name: 'api', module: (config) => ApiModule.forConfig(config), servesApi: true, configureHttp: configureApiHttp }).catch((error: Error) => {
  process.stderr.write(`infrabox api: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
