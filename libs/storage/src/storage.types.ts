import type { Readable } from 'node:stream';

export interface PutOptions {
  /**
   * Expected size in bytes. When given, a source that yields more or fewer bytes fails the put (and
   * leaves no object); backends may also use it to announce the size up front.
   */
  readonly contentLength?: number;
  /**
   * Called with the running total of bytes read from the source so far (non-decreasing; the last call
   * equals the final size, except for an empty object, where it is never called). It counts bytes taken
   * from the source, which may run ahead of what the server has acknowledged by up to the backend's
   * buffer. An exception thrown here fails the put.
   */
  onProgress?(bytes: number): void;
}

export interface PutResult {
  /** Bytes stored. */
  readonly size: number;
  /** Lowercase hex SHA-256 of the bytes stored, computed while streaming. */
  readonly sha256: string;
}

/**
 * A byte range of an object: `start` inclusive, `end` EXCLUSIVE (like `Buffer#subarray`), so
 * `{ start: 0, end: 10 }` is the first ten bytes and `{ start: 10 }` everything from byte 10 on.
 * Ranges are clamped to the object: a range starting at or after the end yields no bytes.
 */
export interface ByteRange {
  readonly start: number;
  readonly end?: number;
}

export interface ObjectInfo {
  readonly size: number;
}

export interface ListedObject {
  readonly key: string;
  readonly size: number;
}

/**
 * One streaming interface over the storage backends (local directory, S3, GCS).
 *
 * Keys are checked by the same rules on every backend (see `assertValidKey`); a bad key raises
 * `InvalidStorageKeyError` before anything is sent. Writes are all-or-nothing: a reader sees the old
 * object, or nothing, until a put has completed, and a put that fails (source error, size mismatch,
 * network) leaves no trace of its bytes. Concurrent puts of one key end with exactly one of them.
 */
export interface ObjectStorage {
  /**
   * Streams `body` into the object at `key`, replacing any object there; memory stays bounded. The put
   * owns `body`: it is read to its end, or destroyed when the put fails (including a bad key).
   */
  put(key: string, body: Readable, options?: PutOptions): Promise<PutResult>;
  /**
   * Opens the object (or `range` of it) for reading. Rejects with `StorageNotFoundError` when there is
   * no object at `key`. The caller must consume or destroy the stream (it may hold a connection).
   */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** Size of the object at `key`, or `null` when there is none. */
  head(key: string): Promise<ObjectInfo | null>;
  /**
   * Every object whose key starts with `prefix` (a plain string prefix: "a/b" matches "a/b/c" and
   * "a/bc"; "" matches everything), in ascending order of the keys' UTF-8 bytes, fetched page by page.
   */
  list(prefix: string): AsyncIterable<ListedObject>;
  /** Removes the object at `key`; removing a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Removes every object whose key starts with `prefix`, which must not be empty. */
  deletePrefix(prefix: string): Promise<void>;
  /** Releases connections held by the backend's client; the instance is unusable afterwards. */
  close(): Promise<void>;
}
