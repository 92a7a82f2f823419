import { type Bucket, Storage, type StorageOptions } from '@google-cloud/storage';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { StorageConfig } from '@infrabox/config';
import { StorageError, StorageNotFoundError } from './storage.errors';
import { assertValidKey, assertValidPrefix } from './storage-key.validator';
import { MeasuringStream, emptyStream, inclusiveEnd, putMeasured, readOfNoBytes } from './storage.streams';
import type { ByteRange, ListedObject, ObjectInfo, ObjectStorage, PutOptions, PutResult } from './storage.types';

export type GcsStorageConfig = Extract<StorageConfig, { kind: 'gcs' }>;

/** Objects per list request (the JSON API's maximum). */
const PAGE_SIZE = 1000;
/** Deletes in flight during `deletePrefix` (GCS has no batch delete in the JSON API client). */
const DELETE_CONCURRENCY = 16;

function httpStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Client options from the config: endpoint, project, and the decoded service account when given. */
export function gcsClientOptions(config: GcsStorageConfig): StorageOptions {
  const options: StorageOptions = {};
  if (config.apiEndpoint !== undefined) options.apiEndpoint = config.apiEndpoint;
  let projectId = config.projectId;
  if (config.serviceAccount !== undefined) {
    let key: { project_id?: unknown; client_email?: unknown; private_key?: unknown };
    try {
      key = JSON.parse(Buffer.from(config.serviceAccount.replace(/\s+/g, ''), 'base64').toString('utf8'));
    } catch (error) {
      throw new StorageError('storage.gcs.service_account is not base64 of a JSON service account key', { cause: error });
    }
    if (typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
      throw new StorageError('storage.gcs.service_account lacks client_email or private_key');
    }
    options.credentials = { client_email: key.client_email, private_key: key.private_key };
    if (projectId === undefined && typeof key.project_id === 'string') projectId = key.project_id;
  }
  if (projectId !== undefined) options.projectId = projectId;
  return options;
}

/**
 * Objects in a Google Cloud Storage bucket through `@google-cloud/storage` (JSON API).
 *
 * Every put is a resumable upload streamed in one request (no `chunkSize`, so the client holds one
 * chunk of the source at a time, not an 8 MiB+ buffer). GCS creates the object only when the upload
 * is finalised, so a put whose source fails is abandoned (its request aborted) and never visible. The
 * client checks the stored object's CRC32C against one it computes while streaming (`validation:
 * 'crc32c'`, constant memory) and deletes a mismatching object; SHA-256 is ours on top. Simple
 * (multipart) uploads are not used: the client cannot abort one whose source fails.
 * Full reads are CRC32C-checked too; range reads cannot be.
 */
export class GcsStorage implements ObjectStorage {
  readonly client: Storage;
  private readonly bucket: Bucket;

  constructor(config: GcsStorageConfig, options: { client?: Storage } = {}) {
    this.client = options.client ?? new Storage(gcsClientOptions(config));
    this.bucket = this.client.bucket(config.bucket);
  }

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    const measuring = MeasuringStream.forPut(key, body, options);
    const sink = this.bucket.file(key).createWriteStream({
      resumable: true,
      validation: 'crc32c',
      metadata: options.contentLength === undefined ? {} : { contentLength: options.contentLength },
    });
    return putMeasured(measuring, () => pipeline(measuring, sink));
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    assertValidKey(key);
    const last = range === undefined ? undefined : inclusiveEnd(range);
    if (last === null) return readOfNoBytes(key, async () => (await this.head(key)) !== null);
    const stream = this.bucket
      .file(key)
      .createReadStream(range === undefined ? { validation: 'crc32c' } : { start: range.start, end: last, validation: false });
    try {
      await responseOf(stream);
      return stream;
    } catch (error) {
      stream.destroy();
      if (httpStatus(error) === 404) throw new StorageNotFoundError(key);
      // 416 comes only for an existing object whose size is at or below range.start: no bytes.
      if (range !== undefined && httpStatus(error) === 416) return emptyStream();
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    assertValidKey(key);
    try {
      const [metadata] = await this.bucket.file(key).getMetadata();
      return { size: Number(metadata.size ?? 0) };
    } catch (error) {
      if (httpStatus(error) === 404) return null;
      throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<ListedObject> {
    assertValidPrefix(prefix, { allowEmpty: true });
    let pageToken: string | undefined;
    do {
      const [files, next] = await this.bucket.getFiles({
        prefix: prefix === '' ? undefined : prefix,
        autoPaginate: false,
        maxResults: PAGE_SIZE,
        pageToken,
      });
      for (const file of files) yield { key: file.name, size: Number(file.metadata.size ?? 0) };
      pageToken = (next as { pageToken?: string } | null)?.pageToken;
    } while (pageToken !== undefined);
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.bucket.file(key).delete({ ignoreNotFound: true });
  }

  async deletePrefix(prefix: string): Promise<void> {
    assertValidPrefix(prefix, { allowEmpty: false });
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    for await (const { key } of this.list(prefix)) {
      if (failure !== undefined) break;
      const deletion: Promise<void> = this.delete(key)
        .catch((error: unknown) => {
          failure ??= error;
        })
        .finally(() => inFlight.delete(deletion));
      inFlight.add(deletion);
      if (inFlight.size >= DELETE_CONCURRENCY) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
  }

  async close(): Promise<void> {
    // The client keeps no connections that need closing.
  }
}

/**
 * Starts the download and settles once the server has answered: resolves on 2xx, rejects with the
 * client's error otherwise (which carries the HTTP status in `code`). The client sends its request only
 * when the stream is first read, hence the `read(0)`.
 */
function responseOf(stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      stream.off('response', onResponse);
      stream.off('error', onError);
    };
    const onResponse = (response: { statusCode?: number }) => {
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        cleanup();
        resolve();
      } // otherwise the client follows up with an error carrying the body's message
    };
    const onError = (error: unknown) => {
      cleanup();
      reject(error);
    };
    stream.on('response', onResponse);
    stream.on('error', onError);
    stream.read(0);
  });
}

