import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { INSTALL_CONFIG, type InstallConfig } from '@infrabox/config';
import { createStorage } from './storage.factory';
import type { ObjectStorage } from './storage.types';

/** Injection token for this installation's {@link ObjectStorage}. */
export const OBJECT_STORAGE = 'OBJECT_STORAGE';

/** Parameter decorator: `constructor(@InjectObjectStorage() storage: ObjectStorage)`. */
export const InjectObjectStorage = (): PropertyDecorator & ParameterDecorator => Inject(OBJECT_STORAGE);

@Injectable()
class StorageLifecycle implements OnApplicationShutdown {
  constructor(@Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage) {}

  async onApplicationShutdown(): Promise<void> {
    await this.storage.close();
  }
}

/** Provides `OBJECT_STORAGE`, built from the (global) install config's `storage` section. */
@Global()
@Module({
  providers: [
    {
      provide: OBJECT_STORAGE,
      inject: [INSTALL_CONFIG],
      useFactory: (config: InstallConfig): ObjectStorage => createStorage(config.storage),
    },
    StorageLifecycle,
  ],
  exports: [OBJECT_STORAGE],
})
export class StorageModule {}
