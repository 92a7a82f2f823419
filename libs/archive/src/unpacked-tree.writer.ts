import { constants, type Stats } from 'node:fs';
import { chmod, link, lstat, lutimes, mkdir, open, readlink, symlink, unlink, utimes } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Header } from 'tar-stream';
import { hardlinkTargetSegments, symlinkTargetSegments } from './archive-path.validator';
import { UnsafeArchiveEntryError, describeName } from './archive.errors';
import { symlinkWalk, walkAsync, WalkNode } from './symlink-walk';
import type { Entry } from './tar.unpacker';

const DEFAULT_DIR_MODE = 0o755;

interface DirectoryAttributes {
  readonly mode: number;
  readonly mtime?: Date;
}

/**
 * The tree an unpack writes into its private folder `root`, one accepted entry at a time: real
 * directories only above every entry, an earlier file or link replaced (never followed), files
 * opened with O_NOFOLLOW, hard links only to regular files unpacked before; `finish` checks every
 * symlink again through the finished tree and gives directories their modes and times.
 */
export class UnpackedTree {
  /** Directories known to be real directories here (never replaced once they are). */
  private readonly verified = new Set<string>(['']);
  /** Directories to give their mode and time once everything is in. */
  private readonly directories = new Map<string, DirectoryAttributes>();
  /** Symlinks created (relative path → entry name), checked again through the finished tree. */
  private readonly symlinks = new Map<string, string>();

  constructor(
    private readonly root: string,
    /** Why reading an entry's body failed (the parser knows: say, the stream ended inside it). */
    private readonly readError: (error: unknown) => Promise<unknown>,
  ) {}

  async finish(): Promise<void> {
    for (const [relative, entryName] of this.symlinks) await this.checkSymlinkInTree(relative, entryName);
    await this.applyDirectoryAttributes();
  }

  private path(segments: readonly string[]): string {
    return path.join(this.root, ...segments);
  }

  /** Makes sure every folder above `segments` is a real directory here, creating missing ones. */
  private async ensureParents(name: string, segments: readonly string[]): Promise<void> {
    let relative = '';
    for (const segment of segments.slice(0, -1)) {
      relative = relative === '' ? segment : `${relative}/${segment}`;
      if (this.verified.has(relative)) continue;
      const stats = await lstatOrNull(path.join(this.root, relative));
      if (stats === null) {
        await mkdir(path.join(this.root, relative), { mode: 0o700 });
        this.directories.set(relative, { mode: DEFAULT_DIR_MODE });
      } else if (stats.isSymbolicLink()) {
        throw new UnsafeArchiveEntryError(name, `path goes through the symlink ${describeName(relative)}`);
      } else if (!stats.isDirectory()) {
        throw new UnsafeArchiveEntryError(name, `path goes through ${describeName(relative)}, which is not a directory`);
      }
      this.verified.add(relative);
    }
  }

  /** Clears the place of a non-directory entry: an earlier file or link there is removed (not followed). */
  private async clearPlace(name: string, segments: readonly string[]): Promise<void> {
    if (segments.length === 0) throw new UnsafeArchiveEntryError(name, 'path is the destination itself');
    await this.ensureParents(name, segments);
    const target = this.path(segments);
    const stats = await lstatOrNull(target);
    if (stats === null) return;
    if (stats.isDirectory()) throw new UnsafeArchiveEntryError(name, 'would replace a directory');
    await unlink(target);
    this.symlinks.delete(segments.join('/'));
  }

  async directory(name: string, segments: readonly string[], header: Header): Promise<void> {
    await this.ensureParents(name, segments);
    const relative = segments.join('/');
    const target = this.path(segments);
    const stats = await lstatOrNull(target);
    if (stats === null || !stats.isDirectory()) {
      if (stats !== null) {
        await unlink(target);
        this.symlinks.delete(relative);
      }
      await mkdir(target, { mode: 0o700 });
    }
    this.verified.add(relative);
    this.directories.set(relative, { mode: header.mode & 0o777, mtime: header.mtime });
  }

  async file(name: string, segments: readonly string[], header: Header, body: Entry): Promise<void> {
    await this.clearPlace(name, segments);
    const handle = await open(
      this.path(segments),
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    try {
      const chunks = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<Buffer>;
        try {
          next = await chunks.next();
        } catch (error) {
          throw await this.readError(error); // say, the stream ended inside the entry's data
        }
        if (next.done) break;
        await writeAll(handle, next.value);
      }
      await handle.chmod(header.mode & 0o777);
      await handle.utimes(header.mtime, header.mtime);
    } finally {
      await handle.close();
    }
  }

  async symlink(name: string, segments: readonly string[], header: Header): Promise<void> {
    const target = header.linkname ?? '';
    symlinkTargetSegments(name, segments, target);
    await this.clearPlace(name, segments);
    const linkPath = this.path(segments);
    await symlink(target, linkPath);
    await lutimes(linkPath, header.mtime, header.mtime);
    this.symlinks.set(segments.join('/'), name);
  }

  async hardlink(name: string, segments: readonly string[], header: Header): Promise<void> {
    const target = header.linkname ?? '';
    const targetSegments = hardlinkTargetSegments(name, target);
    if (targetSegments.join('/') === segments.join('/')) {
      throw new UnsafeArchiveEntryError(name, 'hardlink points to itself');
    }
    // The target must be a regular file unpacked before, reached through real directories only.
    let relative = '';
    for (const [index, segment] of targetSegments.entries()) {
      relative = relative === '' ? segment : `${relative}/${segment}`;
      const stats = await lstatOrNull(path.join(this.root, relative));
      const last = index === targetSegments.length - 1;
      if (stats === null) throw new UnsafeArchiveEntryError(name, `hardlink target ${describeName(target)} is not in the archive`);
      if (stats.isSymbolicLink()) {
        throw new UnsafeArchiveEntryError(name, `hardlink target ${describeName(target)} goes through the symlink ${describeName(relative)}`);
      }
      if (last ? !stats.isFile() : !stats.isDirectory()) {
        throw new UnsafeArchiveEntryError(name, `hardlink target ${describeName(target)} is not a regular file`);
      }
    }
    await this.clearPlace(name, segments);
    await link(this.path(targetSegments), this.path(segments));
  }

  /**
   * Resolves the symlink at `relative` through the finished tree, following the symlinks in it as the
   * kernel would (components that do not exist are taken lexically), and refuses it when it leads
   * outside. This catches what the per-entry check cannot see: a link whose target goes through
   * another link (`a` → `.`, then `b` → `a/..`), possibly one that came later in the archive.
   */
  private async checkSymlinkInTree(relative: string, entryName: string): Promise<void> {
    const linkPath = path.join(this.root, relative);
    const stats = await lstatOrNull(linkPath);
    if (stats === null || !stats.isSymbolicLink()) return;
    const written = await readlink(linkPath);
    await walkAsync(symlinkWalk(relative, written, entryName), async (segments): Promise<WalkNode> => {
      const at = path.join(this.root, ...segments);
      const stats = await lstatOrNull(at);
      if (stats === null) return { kind: 'missing' };
      if (stats.isSymbolicLink()) return { kind: 'symlink', target: await readlink(at) };
      return stats.isDirectory() ? { kind: 'directory' } : { kind: 'other' };
    });
  }

  /** Directory modes and times, deepest first (so restricting a parent cannot block a child). */
  private async applyDirectoryAttributes(): Promise<void> {
    const ordered = [...this.directories].sort(([a], [b]) => b.split('/').length - a.split('/').length);
    for (const [relative, attributes] of ordered) {
      const target = path.join(this.root, relative);
      await chmod(target, attributes.mode);
      if (attributes.mtime) await utimes(target, attributes.mtime, attributes.mtime);
    }
  }
}

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

export async function lstatOrNull(target: string): Promise<Stats | null> {
  try {
    return await lstat(target);
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return null;
    throw error;
  }
}
