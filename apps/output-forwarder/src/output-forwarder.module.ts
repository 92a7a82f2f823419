import { DynamicModule, Module } from '@nestjs/common';
import { InstallConfig, InstallConfigModule } from '@infrabox/config';
import { DatabaseModule } from '@infrabox/database';
import { EventsModule } from '@infrabox/events';

@Module({})
export class OutputForwarderModule {
  static forConfig(config: InstallConfig): DynamicModule {
    return {
      module: OutputForwarderModule,
      imports: [InstallConfigModule.forRoot(config), DatabaseModule, EventsModule.forRoot({ app: 'output-forwarder' })],
    };
  }
}
