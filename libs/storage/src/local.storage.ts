import { randomUUID } from 'node:crypto';
import { createWriteStream, type Dirent, type WriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidStorageKeyError, StorageError, StorageNotFoundError, describeKey } from './storage.errors';
import { assertValidKey, assertValidPrefix } from './storage-key.validator';
import { MeasuringStream, emptyStream, inclusiveEnd } from './storage.streams';
import type { ByteRange, ListedObject, ObjectInfo, ObjectStorage, PutOptions, PutResult } from './storage.types';

const OBJECTS_DIR = 'objects';
const INCOMING_DIR = 'incoming';

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/** Sort key that makes a depth-first walk yield keys in ascending byte order ("a/…" sorts as "a/"). */
function walkOrder(entry: Dirent): Buffer {
  return Buffer.from(entry.isDirectory() ? `${entry.name}/` : entry.name, 'utf8');
}

/**
 * Objects as files in a directory:
 *   <root>/objects/<key>   one file per object, key segments as directories
 *   <root>/incoming/…      puts in progress (same file system, so the final `rename` is atomic)
 * A put writes (and fsyncs) a temporary file in `incoming/` and renames it into place, so a reader opens
 * either the previous file or the complete new one; a failed put removes its temporary file. Readers
 * hold an open descriptor, so an object replaced or deleted while it is read is still read whole.
 *
 * Limitation of a file system: a key cannot also be a prefix of other keys ("a" and "a/b" cannot both
 * exist); such a put fails with a `StorageError`. Leftover files in `incoming/` after a crash are
 * garbage and may be deleted.
 */
export class LocalStorage implements ObjectStorage {
  private readonly objectsDir: string;
  private readonly incomingDir: string;

  constructor(readonly root: string) {
    this.objectsDir = path.join(path.resolve(root), OBJECTS_DIR);
    this.incomingDir = path.join(path.resolve(root), INCOMING_DIR);
  }

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    const measuring = MeasuringStream.forPut(key, body, options);
    const temporary = path.join(this.incomingDir, `${randomUUID()}.part`);
    let file: WriteStream | undefined;
    try {
      await mkdir(this.incomingDir, { recursive: true });
      file = createWriteStream(temporary, { flags: 'wx', flush: true });
      await pipeline(measuring, file);
      await this.moveIntoPlace(temporary, key);
      return measuring.result();
    } catch (error) {
      measuring.destroy();
      // A body that fails while the file is still being opened can fail the pipeline first; the
      // open then creates the file later. Remove it only once the stream has closed.
      if (file && !file.closed) await new Promise<void>((resolve) => file!.destroy().once('close', () => resolve()));
      await rm(temporary, { force: true });
      throw this.translate(error, key);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    assertValidKey(key);
    const last = range === undefined ? undefined : inclusiveEnd(range);
    let handle;
    try {
      handle = await open(this.pathOf(key), 'r');
    } catch (error) {
      if (['ENOENT', 'ENOTDIR'].includes(errorCode(error) ?? '')) throw new StorageNotFoundError(key);
      throw this.translate(error, key);
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new StorageNotFoundError(key);
      if (last === null || (range !== undefined && range.start >= info.size)) {
        await handle.close();
        return emptyStream();
      }
    } catch (error) {
      await handle.close();
      throw error;
    }
    return handle.createReadStream({ start: range?.start ?? 0, end: last ?? Infinity });
  }

  async head(key: string): Promise<ObjectInfo | null> {
    assertValidKey(key);
    try {
      const info = await stat(this.pathOf(key));
      return info.isFile() ? { size: info.size } : null;
    } catch (error) {
      if (['ENOENT', 'ENOTDIR'].includes(errorCode(error) ?? '')) return null;
      throw this.translate(error, key);
    }
  }

  async *list(prefix: string): AsyncIterable<ListedObject> {
    assertValidPrefix(prefix, { allowEmpty: true });
    const base = prefix.slice(0, prefix.lastIndexOf('/') + 1); // "a/b/c" → "a/b/"
    yield* this.walk(base, prefix);
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    const file = this.pathOf(key);
    try {
      await unlink(file);
    } catch (error) {
      // ENOENT/ENOTDIR: nothing there; EISDIR: only keys below it, not this one.
      if (['ENOENT', 'ENOTDIR', 'EISDIR'].includes(errorCode(error) ?? '')) return;
      throw error;
    }
    await this.pruneEmptyDirectories(path.dirname(file));
  }

  async deletePrefix(prefix: string): Promise<void> {
    assertValidPrefix(prefix, { allowEmpty: false });
    for await (const { key } of this.list(prefix)) await this.delete(key);
  }

  async close(): Promise<void> {
    // Nothing held open.
  }

  private pathOf(key: string): string {
    return path.join(this.objectsDir, ...key.split('/'));
  }

  /** Depth-first over `<objects>/<base>`, yielding files whose key starts with `prefix`. */
  private async *walk(base: string, prefix: string): AsyncGenerator<ListedObject> {
    let entries: Dirent[];
    try {
      entries = await readdir(path.join(this.objectsDir, ...base.split('/')), { withFileTypes: true });
    } catch (error) {
      if (['ENOENT', 'ENOTDIR'].includes(errorCode(error) ?? '')) return; // nothing there (or removed meanwhile)
      throw error;
    }
    entries.sort((a, b) => Buffer.compare(walkOrder(a), walkOrder(b)));
    for (const entry of entries) {
      const key = base + entry.name;
      if (entry.isDirectory()) {
        const asPrefix = `${key}/`;
        if (asPrefix.startsWith(prefix) || prefix.startsWith(asPrefix)) yield* this.walk(asPrefix, prefix);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        try {
          yield { key, size: (await lstat(path.join(this.objectsDir, ...key.split('/')))).size };
        } catch (error) {
          if (errorCode(error) !== 'ENOENT') throw error; // deleted meanwhile: skip
        }
      }
    }
  }

  private async moveIntoPlace(temporary: string, key: string): Promise<void> {
    const target = this.pathOf(key);
    // A concurrent delete may remove the freshly created parent directory as empty: try again.
    for (let attempt = 0; ; attempt++) {
      await mkdir(path.dirname(target), { recursive: true });
      try {
        await rename(temporary, target);
        return;
      } catch (error) {
        if (errorCode(error) !== 'ENOENT' || attempt >= 10) throw error;
      }
    }
  }

  private async pruneEmptyDirectories(directory: string): Promise<void> {
    for (let dir = directory; dir !== this.objectsDir && dir.startsWith(this.objectsDir); dir = path.dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        return; // not empty (or already gone, or recreated by a put): stop
      }
    }
  }

  private translate(error: unknown, key: string): unknown {
    switch (errorCode(error)) {
      case 'EISDIR':
        return new StorageError(`storage key ${describeKey(key)} is a prefix of other keys; the local backend cannot also hold an object there`, { cause: error });
      case 'ENOTDIR':
      case 'EEXIST':
        return new StorageError(`storage key ${describeKey(key)} lies under another object's key; the local backend cannot hold both`, { cause: error });
      case 'ENAMETOOLONG':
        return new InvalidStorageKeyError(key, 'has a segment longer than the file system allows (255 bytes) for the local backend');
      default:
        return error;
    }
  }
}
