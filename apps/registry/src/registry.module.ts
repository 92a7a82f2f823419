import { DynamicModule, Module } from '@nestjs/common';
import { InstallConfig, InstallConfigModule } from '@infrabox/config';
import { DatabaseModule } from '@infrabox/database';
import { EventsModule } from '@infrabox/events';

@Module({})
export class RegistryModule {
  static forConfig(config: InstallConfig): DynamicModule {
    return {
      module: RegistryModule,
      imports: [InstallConfigModule.forRoot(config), DatabaseModule, EventsModule.forRoot({ app: 'registry' })],
    };
  }
}
