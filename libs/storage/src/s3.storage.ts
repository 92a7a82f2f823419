import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import type { StorageConfig } from '@infrabox/config';
import { StorageError, StorageNotFoundError, describeKey } from './storage.errors';
import { assertValidKey, assertValidPrefix } from './storage-key.validator';
import { MeasuringStream, emptyStream, inclusiveEnd, putMeasured, readOfNoBytes } from './storage.streams';
import type { ByteRange, ListedObject, ObjectInfo, ObjectStorage, PutOptions, PutResult } from './storage.types';

export type S3StorageConfig = Extract<StorageConfig, { kind: 's3' }>;

/** Multipart part size: memory per upload is about (queue size + 1) parts. */
export const S3_PART_SIZE = 8 * 1024 * 1024;
export const S3_QUEUE_SIZE = 2;

interface S3ErrorShape {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

// Under jest the SDK's errors can arrive without `code`: match on name and HTTP status.
function s3Error(error: unknown): S3ErrorShape {
  return typeof error === 'object' && error !== null ? (error as S3ErrorShape) : {};
}

function isMissingObject(error: unknown): boolean {
  const { name, $metadata } = s3Error(error);
  if (name === 'NoSuchBucket') return false; // a configuration problem, not a missing object
  return name === 'NoSuchKey' || name === 'NotFound' || $metadata?.httpStatusCode === 404;
}

function isUnsatisfiableRange(error: unknown): boolean {
  const { name, $metadata } = s3Error(error);
  return name === 'InvalidRange' || $metadata?.httpStatusCode === 416;
}

export interface S3StorageOptions {
  /** A ready client (tests observe commands through its middleware); built from the config otherwise. */
  readonly client?: S3Client;
}

/**
 * Objects in an S3 bucket (or an S3-compatible server through `endpoint` + `forcePathStyle`).
 *
 * Puts stream through `@aws-sdk/lib-storage`'s `Upload`: a body under one part is a single PutObject
 * sent only after the source has ended; a larger one is a multipart upload of 8 MiB parts, two in
 * flight, which S3 makes visible only on CompleteMultipartUpload. When the source fails (or the
 * announced length is wrong) the multipart upload is aborted (`leavePartsOnError: false`), so no object
 * and no billed parts remain. Credentials: the configured key pair, else the SDK's default chain.
 */
export class S3Storage implements ObjectStorage {
  readonly client: S3Client;
  private readonly bucket: string;

  constructor(config: S3StorageConfig, options: S3StorageOptions = {}) {
    this.bucket = config.bucket;
    this.client =
      options.client ??
      new S3Client({
        region: config.region,
        endpoint: config.endpoint,
        forcePathStyle: config.forcePathStyle,
        credentials:
          config.accessKeyId !== undefined && config.secretAccessKey !== undefined
            ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey }
            : undefined,
      });
  }

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    const measuring = MeasuringStream.forPut(key, body, options);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: measuring },
      partSize: S3_PART_SIZE,
      queueSize: S3_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    return putMeasured(measuring, () => upload.done());
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    assertValidKey(key);
    const last = range === undefined ? undefined : inclusiveEnd(range);
    if (last === null) return readOfNoBytes(key, async () => (await this.head(key)) !== null);
    try {
      const response = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Range: range === undefined ? undefined : `bytes=${range.start}-${last ?? ''}`,
        }),
      );
      if (response.Body === undefined) return emptyStream();
      if (!(response.Body instanceof Readable)) throw new StorageError(`S3 answered ${describeKey(key)} with a body that is not a stream`);
      return response.Body;
    } catch (error) {
      if (isMissingObject(error)) throw new StorageNotFoundError(key);
      // 416 comes only for an existing object whose size is at or below range.start: no bytes.
      if (range !== undefined && isUnsatisfiableRange(error)) return emptyStream();
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    assertValidKey(key);
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: response.ContentLength ?? 0 };
    } catch (error) {
      if (isMissingObject(error)) return null;
      throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<ListedObject> {
    assertValidPrefix(prefix, { allowEmpty: true });
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix === '' ? undefined : prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined) yield { key: object.Key, size: object.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async deletePrefix(prefix: string): Promise<void> {
    assertValidPrefix(prefix, { allowEmpty: false });
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const keys = batch;
      batch = [];
      const response = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
      );
      const failed = response.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0];
        throw new StorageError(
          `could not delete ${failed.length} object(s) under ${describeKey(prefix)}, e.g. ${describeKey(first.Key ?? '')}: ${first.Code ?? ''} ${first.Message ?? ''}`.trim(),
        );
      }
    };
    // Listing runs ahead of deletion page by page; S3 deletes at most 1000 keys per request.
    for await (const { key } of this.list(prefix)) {
      batch.push(key);
      if (batch.length === 1000) await flush();
    }
    await flush();
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
