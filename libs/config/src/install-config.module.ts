import { DynamicModule, Global, Inject, Module } from '@nestjs/common';
import { CurrentCluster, currentClusterOf } from './current-cluster';
import type { InstallConfig } from './install-config.schema';

/** Injection token for the loaded {@link InstallConfig}. */
export const INSTALL_CONFIG = 'INSTALL_CONFIG';

/** Parameter decorator: `constructor(@InjectInstallConfig() config: InstallConfig)`. */
export const InjectInstallConfig = (): PropertyDecorator & ParameterDecorator => Inject(INSTALL_CONFIG);

@Global()
@Module({})
export class InstallConfigModule {
  /**
   * Provides an already loaded config, so loading (and its errors) stays outside Nest's bootstrap,
   * and the {@link CurrentCluster} it describes.
   */
  static forRoot(config: InstallConfig): DynamicModule {
    return {
      module: InstallConfigModule,
      global: true,
      providers: [
        { provide: INSTALL_CONFIG, useValue: config },
        { provide: CurrentCluster, useValue: currentClusterOf(config) },
      ],
      exports: [INSTALL_CONFIG, CurrentCluster],
    };
  }
}
