export type { ByteRange, ListedObject, ObjectInfo, ObjectStorage, PutOptions, PutResult } from './storage.types';
export { InvalidStorageKeyError, StorageError, StorageNotFoundError } from './storage.errors';
export { MAX_KEY_BYTES, assertValidKey, assertValidPrefix } from './storage-key.validator';
export { createStorage } from './storage.factory';
export { InjectObjectStorage, OBJECT_STORAGE, StorageModule } from './storage.module';
export { LocalStorage } from './local.storage';
export { S3Storage, S3_PART_SIZE, S3_QUEUE_SIZE, type S3StorageConfig, type S3StorageOptions } from './s3.storage';
export { GcsStorage, gcsClientOptions, type GcsStorageConfig } from './gcs.storage';
