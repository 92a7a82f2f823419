import { hardlinkTargetSegments, symlinkTargetSegments } from './archive-path.validator';
import { UnsafeArchiveEntryError, describeName } from './archive.errors';
import { symlinkWalk, walkSync, WalkNode } from './symlink-walk';

type Node = { kind: 'directory' } | { kind: 'file' } | { kind: 'symlink'; target: string; entryName: string };

/**
 * The tree an archive would unpack to, as names only: what `unpackTar` finds on the file system
 * while it writes, known here without writing anything. It refuses the same entries with the
 * same messages — a path through a symlink or a file, a non-directory replacing a directory, a
 * hard link to something that is not a regular file unpacked before, and (in `finish`) a symlink
 * that leads out through other symlinks.
 */
export class ArchiveTreeModel {
  private readonly nodes = new Map<string, Node>();

  directory(name: string, segments: readonly string[]): void {
    if (segments.length === 0) return;
    this.ensureParents(name, segments);
    this.nodes.set(segments.join('/'), { kind: 'directory' });
  }

  file(name: string, segments: readonly string[]): void {
    this.clearPlace(name, segments);
    this.nodes.set(segments.join('/'), { kind: 'file' });
  }

  symlink(name: string, segments: readonly string[], target: string): void {
    symlinkTargetSegments(name, segments, target);
    this.clearPlace(name, segments);
    this.nodes.set(segments.join('/'), { kind: 'symlink', target, entryName: name });
  }

  hardlink(name: string, segments: readonly string[], target: string): void {
    const targetSegments = hardlinkTargetSegments(name, target);
    if (targetSegments.join('/') === segments.join('/')) throw new UnsafeArchiveEntryError(name, 'hardlink points to itself');
    let relative = '';
    for (const [index, segment] of targetSegments.entries()) {
      relative = relative === '' ? segment : `${relative}/${segment}`;
      const node = this.nodes.get(relative);
      const last = index === targetSegments.length - 1;
      if (node === undefined) throw new UnsafeArchiveEntryError(name, `hardlink target ${describeName(target)} is not in the archive`);
      if (node.kind === 'symlink') {
        throw new UnsafeArchiveEntryError(name, `hardlink target ${describeName(target)} goes through the symlink ${describeName(relative)}`);
      }
      if (last ? node.kind !== 'file' : node.kind !== 'directory') {
        throw new UnsafeArchiveEntryError(name, `hardlink target ${describeName(target)} is not a regular file`);
      }
    }
    this.file(name, segments);
  }

  /** Resolves every symlink through the finished tree, as the kernel would; refuses one that leads out. */
  finish(): void {
    for (const [relative, node] of this.nodes) {
      if (node.kind === 'symlink') this.checkSymlink(relative, node.target, node.entryName);
    }
  }

  private ensureParents(name: string, segments: readonly string[]): void {
    let relative = '';
    for (const segment of segments.slice(0, -1)) {
      relative = relative === '' ? segment : `${relative}/${segment}`;
      const node = this.nodes.get(relative);
      if (node === undefined) this.nodes.set(relative, { kind: 'directory' });
      else if (node.kind === 'symlink') throw new UnsafeArchiveEntryError(name, `path goes through the symlink ${describeName(relative)}`);
      else if (node.kind !== 'directory') throw new UnsafeArchiveEntryError(name, `path goes through ${describeName(relative)}, which is not a directory`);
    }
  }

  private clearPlace(name: string, segments: readonly string[]): void {
    if (segments.length === 0) throw new UnsafeArchiveEntryError(name, 'path is the destination itself');
    this.ensureParents(name, segments);
    if (this.nodes.get(segments.join('/'))?.kind === 'directory') throw new UnsafeArchiveEntryError(name, 'would replace a directory');
  }

  private checkSymlink(relative: string, written: string, entryName: string): void {
    walkSync(symlinkWalk(relative, written, entryName), (segments): WalkNode => {
      const node = this.nodes.get(segments.join('/'));
      if (node === undefined) return { kind: 'missing' };
      return node.kind === 'file' ? { kind: 'other' } : node;
    });
  }

}
