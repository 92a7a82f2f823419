import { createHash } from 'node:crypto';
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import { StorageError, StorageNotFoundError } from './storage.errors';
import { assertValidKey } from './storage-key.validator';
import type { ByteRange, PutOptions, PutResult } from './storage.types';

/**
 * Passes a put's source through unchanged while counting its bytes, hashing them (SHA-256), reporting
 * progress and holding it to `contentLength`. Any failure — of the source, of `onProgress`, of a size
 * check — destroys the stream with that error, which is what makes every backend abandon the upload.
 */
export class MeasuringStream extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private digest: string | undefined;

  constructor(private readonly options: PutOptions = {}) {
    super();
  }

  /**
   * Starts a put: checks the key and options, then pipes `source` into a new measuring stream
   * (destroying either end destroys the other). A put owns its source: when a check fails, the source
   * is destroyed too, so an open file or socket behind it is not leaked.
   */
  static forPut(key: string, source: Readable, options: PutOptions = {}): MeasuringStream {
    if (!(source instanceof Readable)) throw new TypeError('put body must be a Readable stream');
    try {
      assertValidKey(key);
      const { contentLength } = options;
      if (contentLength !== undefined && !(Number.isSafeInteger(contentLength) && contentLength >= 0)) {
        throw new RangeError(`contentLength must be a non-negative integer, got ${String(contentLength)}`);
      }
    } catch (error) {
      source.destroy();
      throw error;
    }
    const measuring = new MeasuringStream(options);
    // Errors reach the consumer through the destroyed measuring stream; nothing to do here.
    pipeline(source, measuring, () => undefined);
    return measuring;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    const { contentLength, onProgress } = this.options;
    if (contentLength !== undefined && this.bytes > contentLength) {
      callback(new StorageError(`source is longer than the announced contentLength of ${contentLength} bytes`));
      return;
    }
    this.hash.update(chunk);
    if (onProgress !== undefined && chunk.length > 0) {
      try {
        onProgress(this.bytes);
      } catch (error) {
        callback(error as Error);
        return;
      }
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const { contentLength } = this.options;
    if (contentLength !== undefined && this.bytes !== contentLength) {
      callback(new StorageError(`source ended after ${this.bytes} bytes, but contentLength announced ${contentLength}`));
      return;
    }
    this.digest = this.hash.digest('hex');
    callback();
  }

  /** Size and hash of everything that passed; only once the source has ended without error. */
  result(): PutResult {
    if (this.digest === undefined) throw new StorageError('the source has not been read to its end');
    return { size: this.bytes, sha256: this.digest };
  }
}

/** Checks a range and answers its inclusive last byte (`undefined` for "to the end"), or `null` when it is empty. */
export function inclusiveEnd(range: ByteRange): number | undefined | null {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`range start must be a non-negative integer, got ${String(start)}`);
  if (end === undefined) return undefined;
  if (!Number.isSafeInteger(end) || end < start) {
    throw new RangeError(`range end must be an integer not below start (${start}), got ${String(end)}`);
  }
  return end === start ? null : end - 1;
}

/** The read of a range of no bytes (`start` = `end`): an empty stream once `exists` finds the object. */
export async function readOfNoBytes(key: string, exists: () => Promise<boolean>): Promise<Readable> {
  if (!(await exists())) throw new StorageNotFoundError(key);
  return emptyStream();
}

/** Waits for `sent` (the backend's upload of `measuring`); a failed upload leaves the body half read, so it is released. */
export async function putMeasured(measuring: MeasuringStream, sent: () => Promise<unknown>): Promise<PutResult> {
  try {
    await sent();
  } catch (error) {
    measuring.destroy();
    throw error;
  }
  return measuring.result();
}

export function emptyStream(): Readable {
  return Readable.from([]);
}
