import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { extract as createExtract, type Extract, type Header } from 'tar-stream';
import { END_MARKER, keepTail, roundUp } from './tar-blocks';
import { entryPathSegments } from './archive-path.validator';
import {
  ArchiveDestinationError,
  ArchiveError,
  ArchiveFormatError,
  ArchiveIntegrityError,
  UnsafeArchiveEntryError,
  describeName,
} from './archive.errors';
import { ArchiveLimitsCounter } from './archive-limits.counter';
import { errorCode, lstatOrNull, UnpackedTree } from './unpacked-tree.writer';
import type { ArchiveSummary, UnpackOptions } from './archive.types';

/** One entry as tar-stream yields it: a (streamx) readable of its body, with its header. */
export type Entry = Extract extends AsyncIterable<infer T> ? T : never;

/** Mode of the destination when it did not exist before (it is created as 0700 while it fills). */
const DEFAULT_ROOT_MODE = 0o755;

/**
 * Unpacks the tar stream `source` into `dest`, safely and atomically, in constant memory.
 *
 * The entries go into a sibling folder `<dest>.partial-<random>`, which is renamed to `dest` only once
 * the whole stream has been read, its size and SHA-256 match `options` (when given), it ended with a
 * tar end-of-archive marker, and every entry was accepted. On any failure that folder is removed and
 * `dest` is left as it was: a partial or corrupt input is never visible. `dest` must not exist, or be
 * an empty directory (which is then replaced; its mode is kept); its parent is created when missing.
 * Two unpacks into one `dest` at a time end with exactly one of them there.
 *
 * Refused with `UnsafeArchiveEntryError` (naming the entry): absolute paths; `..` that climbs out
 * (`a/../b` is `b`); NUL bytes in names or targets; symlinks whose target is absolute or resolves
 * outside `dest` (from the link's folder — lexically when the entry comes, and once more through the
 * symlinks of the finished tree before the rename); hard links whose target (an archive path) is
 * absolute, outside, or not a regular file unpacked before; devices, FIFOs and unknown entry types;
 * any path that goes through a symlink or a non-directory; a non-directory replacing a directory.
 * Later entries otherwise replace earlier ones, as with tar (a replaced symlink is removed, never followed).
 *
 * Over a cap of `options.limits` (entries, unpacked bytes; default DEFAULT_ARCHIVE_LIMITS): `ArchiveLimitError`.
 * Other failures: `ArchiveIntegrityError` (size or SHA-256 differ; with expectations, a stream that is
 * corrupt or truncated is reported as this once its bytes are known to differ), `ArchiveFormatError`
 * (not a tar stream, truncated, no end marker), `ArchiveDestinationError`, or the source's own error.
 *
 * Modes: permission bits (0777) of files and directories; setuid, setgid and sticky bits are dropped;
 * owners are not restored. Modification times are restored. The function owns `source`: it is read to
 * its end, or destroyed when the unpack fails.
 */
export async function unpackTar(source: Readable, dest: string, options: UnpackOptions = {}): Promise<ArchiveSummary> {
  const destination = path.resolve(dest);
  let temporary: string | undefined;
  try {
    const existing = await destinationState(destination);
    await mkdir(path.dirname(destination), { recursive: true });
    temporary = `${destination}.partial-${randomBytes(6).toString('hex')}`;
    await mkdir(temporary, { mode: 0o700 });
    const summary = await new Extraction(temporary, options).run(source);
    await chmod(temporary, existing.mode ?? DEFAULT_ROOT_MODE);
    try {
      await rename(temporary, destination);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        throw new ArchiveDestinationError(destination, 'it exists and is not empty', { cause: error });
      }
      if (code === 'ENOTDIR' || code === 'EISDIR') {
        throw new ArchiveDestinationError(destination, 'it exists and is not a directory', { cause: error });
      }
      throw error;
    }
    return summary;
  } catch (error) {
    source.destroy();
    if (temporary !== undefined) await removeTree(temporary);
    throw error;
  }
}

/** Checks that `destination` may be unpacked into; answers the mode of an existing empty directory. */
async function destinationState(destination: string): Promise<{ mode?: number }> {
  const stats = await lstatOrNull(destination);
  if (stats === null) return {};
  if (!stats.isDirectory()) throw new ArchiveDestinationError(destination, 'it exists and is not a directory');
  if ((await readdir(destination)).length > 0) throw new ArchiveDestinationError(destination, 'it exists and is not empty');
  return { mode: stats.mode & 0o7777 };
}

/** Removes a tree, also when unpacked directory modes (say 0555) stand in the way. */
async function removeTree(target: string): Promise<void> {
  try {
    await rm(target, { recursive: true, force: true });
  } catch {
    await makeWritable(target);
    await rm(target, { recursive: true, force: true });
  }
}

async function makeWritable(target: string): Promise<void> {
  const stats = await lstatOrNull(target);
  if (stats === null || !stats.isDirectory()) return;
  await chmod(target, 0o700);
  for (const name of await readdir(target)) await makeWritable(path.join(target, name));
}

/** One unpack into a fresh, private folder `root`. */
class Extraction {
  private readonly extract: Extract = createExtract();
  private readonly hash = createHash('sha256');
  private size = 0;
  /** The last 1024 bytes read (the end-of-archive marker, when the archive is whole). */
  private tail: Buffer = Buffer.alloc(0);
  /** Offset just past the data of the last entry, from the headers. */
  private archiveEnd = 0;
  private entries = 0;
  private extractClosed = false;
  /** The parser's own error, when it failed (its entry streams only say "destroyed"). */
  private extractError: unknown;
  /** First error that stops everything (the source's, an unsafe entry, a file system error). */
  private failure: { error: unknown } | undefined;
  /** The stream is not a valid tar; with expectations, the rest is still read to compare its bytes. */
  private formatError: ArchiveFormatError | undefined;
  private source: Readable | undefined;

  private readonly counter: ArchiveLimitsCounter;
  private readonly tree: UnpackedTree;

  constructor(
    root: string,
    private readonly options: UnpackOptions,
  ) {
    this.counter = new ArchiveLimitsCounter(options.limits);
    this.tree = new UnpackedTree(root, (error) => this.entryReadError(error));
    this.extract.on('error', (error) => {
      this.extractError ??= error;
    });
    this.extract.on('close', () => {
      this.extractClosed = true;
    });
  }

  async run(source: Readable): Promise<ArchiveSummary> {
    this.source = source;
    await Promise.all([this.feed(source), this.consume()]);
    if (this.failure) throw this.failure.error;

    const sha256 = this.hash.digest('hex');
    const { expectedSize, expectedSha256 } = this.options;
    const cause = this.formatError === undefined ? undefined : { cause: this.formatError };
    if (expectedSize !== undefined && this.size !== expectedSize) {
      throw new ArchiveIntegrityError('size', String(expectedSize), String(this.size), cause);
    }
    if (expectedSha256 !== undefined && sha256 !== expectedSha256.toLowerCase()) {
      throw new ArchiveIntegrityError('sha256', expectedSha256, sha256, cause);
    }
    if (this.formatError) throw this.formatError;
    if (this.size < this.archiveEnd + END_MARKER.length || !this.tail.equals(END_MARKER)) {
      throw new ArchiveFormatError('the tar stream is truncated: it does not end with an end-of-archive marker');
    }

    await this.tree.finish();
    return { entries: this.entries, size: this.size, sha256 };
  }

  private abort(error: unknown): void {
    if (this.failure) return;
    this.failure = { error };
    this.extract.destroy();
    this.source?.destroy();
  }

  private get expectations(): boolean {
    return this.options.expectedSha256 !== undefined || this.options.expectedSize !== undefined;
  }

  /** Reads the source: measures every byte and hands it to the tar parser, with backpressure. */
  private async feed(source: Readable): Promise<void> {
    const { expectedSize } = this.options;
    try {
      for await (const data of source as AsyncIterable<Buffer | string>) {
        const chunk = typeof data === 'string' ? Buffer.from(data) : data;
        this.hash.update(chunk);
        this.size += chunk.length;
        this.tail = keepTail(this.tail, chunk);
        if (expectedSize !== undefined && this.size > expectedSize) {
          throw new ArchiveIntegrityError('size', String(expectedSize), `more than ${expectedSize}`);
        }
        if (this.failure) return;
        if (!this.extractClosed && !this.extract.write(chunk)) await this.writable();
      }
      if (!this.extractClosed) this.extract.end(null);
    } catch (error) {
      this.abort(error);
    }
  }

  private writable(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.extractClosed) return resolve();
      const done = () => {
        this.extract.off('drain', done);
        this.extract.off('close', done);
        resolve();
      };
      this.extract.on('drain', done);
      this.extract.on('close', done);
    });
  }

  /** Takes the entries as the parser yields them. */
  private async consume(): Promise<void> {
    const iterator = this.extract[Symbol.asyncIterator]();
    try {
      for (;;) {
        let next: IteratorResult<Entry>;
        try {
          next = await iterator.next();
        } catch (error) {
          throw this.asFormatError(error);
        }
        if (next.done) return;
        await this.accept(next.value);
      }
    } catch (error) {
      if (this.failure) return;
      if (error instanceof ArchiveFormatError && this.expectations) {
        // Read the rest anyway: if the bytes differ from the recorded ones, that is the real news.
        this.formatError = error;
        this.extract.destroy();
        return;
      }
      this.abort(error);
    }
  }

  private asFormatError(error: unknown): unknown {
    if (this.failure || error instanceof ArchiveError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new ArchiveFormatError(`not a valid tar stream: ${message}`, { cause: error });
  }

  /** Why reading an entry's data failed: the parser's error, once it has closed. */
  private async entryReadError(error: unknown): Promise<unknown> {
    if (this.failure || error instanceof ArchiveError) return error;
    if (!this.extractClosed) await new Promise<void>((resolve) => this.extract.once('close', () => resolve()));
    return this.asFormatError(this.extractError ?? error);
  }

  private async accept(entry: Entry): Promise<void> {
    const header = entry.header as Header & { byteOffset?: number; type: string | null };
    const name = header.name;
    const dataStart = header.byteOffset ?? 0;
    this.archiveEnd = Math.max(this.archiveEnd, dataStart + roundUp(header.type === 'directory' ? 0 : header.size));
    // Drain bodies nobody reads (links with a size) so the parser moves on; a directory's stream never
    // ends in tar-stream and is left alone.
    if (header.type !== 'file' && header.type !== 'contiguous-file' && header.type !== 'directory') entry.resume();

    this.counter.count(header.type === 'directory' ? 0 : header.size);
    const segments = entryPathSegments(name);
    switch (header.type) {
      case 'directory':
        if (segments.length === 0) return; // `./`: the destination itself
        await this.tree.directory(name, segments, header);
        break;
      case 'file':
      case 'contiguous-file':
        await this.tree.file(name, segments, header, entry);
        break;
      case 'symlink':
        await this.tree.symlink(name, segments, header);
        break;
      case 'link':
        await this.tree.hardlink(name, segments, header);
        break;
      case 'character-device':
      case 'block-device':
        throw new UnsafeArchiveEntryError(name, `device files are not allowed (${header.type})`);
      case 'fifo':
        throw new UnsafeArchiveEntryError(name, 'FIFOs are not allowed');
      default:
        throw new UnsafeArchiveEntryError(name, `entry type ${header.type === null ? 'unknown' : describeName(header.type)} is not supported`);
    }
    this.entries++;
  }
}
