import { UnsafeArchiveEntryError, describeName } from './archive.errors';

/** Symlinks followed while resolving one target, at most (the kernel's own limit is 40). */
export const MAX_LINK_HOPS = 40;

/** What the walk needs to know of one path of the tree: `other` is anything but a directory or a symlink. */
export type WalkNode = { kind: 'missing' } | { kind: 'directory' } | { kind: 'other' } | { kind: 'symlink'; target: string };

/**
 * Resolves the symlink at `relative` (whose target is `written`) as the kernel would, following
 * the symlinks it meets, with components that do not exist taken lexically, and throws when it
 * leads outside the destination or goes through too many links. A generator, so that one walk
 * serves a tree held in memory (`walkSync`) and one on disk (`walkAsync`): it yields each path
 * it needs to see and is given back what is there.
 */
export function* symlinkWalk(relative: string, written: string, entryName: string): Generator<string[], void, WalkNode> {
  const refuse = (reason: string) => new UnsafeArchiveEntryError(entryName, `symlink target ${describeName(written)} ${reason}`);
  const current = relative.split('/').slice(0, -1);
  const pending = written.split('/');
  let hops = 1;
  let missing = false;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (current.length === 0) throw refuse('leaves the destination');
      current.pop();
      continue;
    }
    current.push(part);
    if (missing) continue;
    const node: WalkNode = yield [...current];
    if (node.kind === 'symlink') {
      if (++hops > MAX_LINK_HOPS) throw refuse('goes through too many symlinks');
      if (node.target.startsWith('/')) throw refuse('leaves the destination');
      current.pop();
      pending.unshift(...node.target.split('/'));
    } else if (node.kind !== 'directory') {
      missing = true; // a missing path, or `file/…`, does not resolve: the rest is taken lexically
    }
  }
}

export function walkSync(walk: Generator<string[], void, WalkNode>, look: (segments: string[]) => WalkNode): void {
  for (let step = walk.next(); !step.done; step = walk.next(look(step.value)));
}

export async function walkAsync(walk: Generator<string[], void, WalkNode>, look: (segments: string[]) => Promise<WalkNode>): Promise<void> {
  for (let step = walk.next(); !step.done; step = walk.next(await look(step.value)));
}
