import 'reflect-metadata';
import { runApp } from '@infrabox/app-runtime';
import { RegistryModule } from './registry.module';

runApp({ name: 'registry', module: (config) => RegistryModule.forConfig(config), servesApi: false }).catch((error: Error) => {
  process.stderr.write(`infrabox registry: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
