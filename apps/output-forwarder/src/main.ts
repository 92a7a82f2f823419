import 'reflect-metadata';
import { runApp } from '@infrabox/app-runtime';
import { OutputForwarderModule } from './output-forwarder.module';

runApp({ name: 'output-forwarder', module: (config) => OutputForwarderModule.forConfig(config), servesApi: false }).catch((error: Error) => {
  process.stderr.write(`infrabox output-forwarder: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
