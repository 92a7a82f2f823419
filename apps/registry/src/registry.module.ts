import { DynamicModule, Module } from '@nestjs/common';
import { InstallConfig, InstallConfigModule } from '@infrabox/config';
import { ClustersModule } from '@infrabox/clusters';
import { DatabaseModule } from '@infrabox/database';
import { EventsModule } from '@infrabox/events';
import { ObservabilityModule } from '@infrabox/observability';
import { EventPruningService } from './event-pruning/event-pruning.service';
import { LivenessService } from './liveness/liveness.service';
import { ReachabilityService } from './reachability/reachability.service';
import { RegistrationService } from './registration/registration.service';
import { DEFAULT_REGISTRY_OPTIONS, REGISTRY_OPTIONS, RegistryOptions } from './registry.options';

@Module({})
export class RegistryModule {
  /** `options` overrides the default timings (tests shorten them). */
  static forConfig(config: InstallConfig, options: Partial<RegistryOptions> = {}): DynamicModule {
    return {
      module: RegistryModule,
      imports: [InstallConfigModule.forRoot(config), DatabaseModule, EventsModule.forRoot({ app: 'registry' }), ObservabilityModule.forApp({ app: 'registry' }), ClustersModule],
      providers: [
        { provide: REGISTRY_OPTIONS, useValue: { ...DEFAULT_REGISTRY_OPTIONS, ...options } },
        RegistrationService,
        LivenessService,
        EventPruningService,
        ReachabilityService,
      ],
    };
  }
}
