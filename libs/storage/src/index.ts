export type { ByteRange, ListedObject, ObjectInfo, ObjectStorage, PutOptions, PutResult } from './storage.types';
export { InvalidStorageKeyError, StorageError, StorageNotFoundError } from './storage.errors';
export { MAX_KEY_BYTES, assertValidKey, assertValidPrefix } from './storage-key.validator';
export { createStorage } from './storage.factory';
export { InjectObjectStorage, OBJECT_STORAGE, StorageModule } from './storage.module';
export { LocalStorage } from './local.storage';
// The S3 and GCS backends are imported from '@infrabox/storage/s3.storage' and
// '@infrabox/storage/gcs.storage' where needed, so that importing this lib loads no cloud SDK.
export type { S3StorageConfig, S3StorageOptions } from './s3.storage';
export type { GcsStorageConfig } from './gcs.storage';
