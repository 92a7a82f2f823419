import { Transform, type TransformCallback } from 'node:stream';
import { extract as createExtract, type Extract, type Header } from 'tar-stream';
import { END_MARKER, keepTail, roundUp } from './tar-blocks';
import { entryPathSegments } from './archive-path.validator';
import { ArchiveTreeModel } from './archive-tree.model';
import { ArchiveError, ArchiveFormatError, UnsafeArchiveEntryError, describeName } from './archive.errors';
import { ArchiveLimitsCounter } from './archive-limits.counter';
import type { ArchiveLimits } from './archive.types';

const ACCEPTED_TYPES = new Set(['file', 'contiguous-file', 'directory', 'symlink', 'link']);

/**
 * A pass-through stream that checks a tar archive on its way somewhere (into storage), writing
 * nothing itself: every entry must pass the rules of `unpackTar` — its name and link target (no
 * absolute path, no `..` out, no NUL, valid UTF-8, not too long), a file, directory or link (no
 * devices, FIFOs or unknown types), no path through a symlink, no link that leads out (checked
 * on a model of the tree, `ArchiveTreeModel`) — and the stream must be a whole tar archive
 * ending with its end-of-archive marker, within its caps (`limits`: entries, unpacked bytes).
 * Bytes flow on as they pass; on the first problem the stream is destroyed with an
 * `UnsafeArchiveEntryError`, `ArchiveLimitError` or `ArchiveFormatError`, so whatever it feeds
 * fails too and the error is kept in `failure`.
 */
export class TarChecker extends Transform {
  /** The archive problem that stopped the stream, if any. */
  failure: ArchiveError | undefined;
  private readonly extract: Extract = createExtract();
  private size = 0;
  private archiveEnd = 0;
  private tail: Buffer = Buffer.alloc(0);
  private readonly parsed: Promise<void>;
  private readonly tree = new ArchiveTreeModel();
  private readonly counter: ArchiveLimitsCounter;

  constructor(limits?: ArchiveLimits) {
    super();
    this.counter = new ArchiveLimitsCounter(limits);
    this.parsed = new Promise<void>((resolve) => {
      this.extract.on('entry', (header: Header & { byteOffset?: number }, body, next) => {
        body.on('error', () => undefined); // the parser reports the same problem on itself
        this.archiveEnd = Math.max(this.archiveEnd, (header.byteOffset ?? 0) + roundUp(header.type === 'directory' ? 0 : header.size ?? 0));
        try {
          this.counter.count(header.type === 'directory' ? 0 : header.size ?? 0);
          checkEntry(header, this.tree);
        } catch (error) {
          this.fail(error as ArchiveError);
          return;
        }
        // tar-stream never ends the body stream of an empty entry or a directory: move on at once.
        if (header.size === 0 || header.type === 'directory') return next();
        body.on('end', () => next());
        body.resume();
      });
      this.extract.on('error', (error: Error) => {
        this.fail(error instanceof ArchiveError ? error : new ArchiveFormatError(`not a valid tar stream: ${error.message}`, { cause: error }));
        resolve();
      });
      this.extract.on('finish', () => resolve());
      this.extract.on('close', () => resolve());
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.failure) return callback(this.failure);
    this.size += chunk.length;
    this.tail = keepTail(this.tail, chunk);
    this.push(chunk);
    if (this.extract.write(chunk)) return callback();
    const resume = () => {
      this.extract.off('drain', resume);
      this.extract.off('close', resume);
      callback(this.failure);
    };
    this.extract.on('drain', resume);
    this.extract.on('close', resume);
  }

  override _flush(callback: TransformCallback): void {
    this.extract.end(null);
    void this.parsed.then(() => {
      if (!this.failure && (this.size < this.archiveEnd + END_MARKER.length || !this.tail.equals(END_MARKER))) {
        this.failure = new ArchiveFormatError('the tar stream is truncated: it does not end with an end-of-archive marker');
      }
      if (!this.failure) {
        try {
          this.tree.finish();
        } catch (error) {
          this.failure = error as ArchiveError;
        }
      }
      callback(this.failure);
    });
  }

  private fail(error: ArchiveError): void {
    if (this.failure) return;
    this.failure = error;
    this.extract.destroy();
    this.destroy(error);
  }
}

function checkEntry(header: Header, tree: ArchiveTreeModel): void {
  const name = header.name;
  const type = header.type as string | null;
  if (type === null || !ACCEPTED_TYPES.has(type)) {
    if (type === 'character-device' || type === 'block-device') throw new UnsafeArchiveEntryError(name, `device files are not allowed (${type})`);
    if (type === 'fifo') throw new UnsafeArchiveEntryError(name, 'FIFOs are not allowed');
    throw new UnsafeArchiveEntryError(name, `entry type ${type === null ? 'unknown' : describeName(type)} is not supported`);
  }
  const segments = entryPathSegments(name);
  if (type === 'directory') tree.directory(name, segments);
  else if (type === 'symlink') tree.symlink(name, segments, header.linkname ?? '');
  else if (type === 'link') tree.hardlink(name, segments, header.linkname ?? '');
  else tree.file(name, segments);
}
