import type { StorageConfig } from '@infrabox/config';
import { GcsStorage } from './gcs.storage';
import { LocalStorage } from './local.storage';
import { S3Storage } from './s3.storage';
import type { ObjectStorage } from './storage.types';

/** The backend the config names. Builds clients only; contacts no server. */
export function createStorage(config: StorageConfig): ObjectStorage {
  switch (config.kind) {
    case 'local':
      return new LocalStorage(config.path);
    case 's3':
      return new S3Storage(config);
    case 'gcs':
      return new GcsStorage(config);
  }
}
