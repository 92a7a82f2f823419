import type { StorageConfig } from '@infrabox/config';
import { LocalStorage } from './local.storage';
import type { ObjectStorage } from './storage.types';

/**
 * The backend the config names. Builds clients only; contacts no server. The cloud SDKs are
 * loaded only by the installation that uses them (each is tens of MiB of every process's memory).
 */
export function createStorage(config: StorageConfig): ObjectStorage {
  switch (config.kind) {
    case 'local':
      return new LocalStorage(config.path);
    case 's3': {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { S3Storage } = require('./s3.storage') as typeof import('./s3.storage');
      return new S3Storage(config);
    }
    case 'gcs': {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { GcsStorage } = require('./gcs.storage') as typeof import('./gcs.storage');
      return new GcsStorage(config);
    }
  }
}
