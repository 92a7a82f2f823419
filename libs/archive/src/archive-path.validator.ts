import { UnsafeArchiveEntryError, describeName } from './archive.errors';

/*
 * The path rules of `unpackTar`, as pure functions of the names in the archive (the file system
 * checks — writing through a symlink, replacing a directory — live in the unpacker).
 */

/**
 * `parts` applied to `base` the way a lexical path resolution does: empty and `.` segments are
 * dropped, `..` removes the previous segment. Answers `null` when a `..` would climb above `base`'s root.
 */
function normalise(parts: readonly string[], base: readonly string[]): string[] | null {
  const out = [...base];
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return null;
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out;
}

/** Linux limits: a file name of 255 bytes, a path of 4096 bytes (PATH_MAX, with its NUL). */
export const MAX_SEGMENT_BYTES = 255;
export const MAX_PATH_BYTES = 4095;

/**
 * U+FFFD is what the tar parser makes of bytes that are not UTF-8: a name holding one was not
 * valid UTF-8 in the archive (or names the replacement character itself, which we refuse too).
 */
function problemOfText(text: string): string | undefined {
  if (text.includes('\0')) return 'contains a NUL byte';
  if (text.includes('\ufffd')) return 'is not valid UTF-8';
  if (Buffer.byteLength(text) > MAX_PATH_BYTES) return `is too long (over ${MAX_PATH_BYTES} bytes)`;
  if (text.split('/').some((segment) => Buffer.byteLength(segment) > MAX_SEGMENT_BYTES)) {
    return `is too long (a path segment over ${MAX_SEGMENT_BYTES} bytes)`;
  }
  return undefined;
}

/**
 * The segments of an entry's path below the destination. Refuses a NUL byte, bytes that are not
 * UTF-8, names longer than the file system takes, an empty name, an absolute path and `..`
 * segments that climb out; `a/../b` that stays inside is accepted as `b`. `./` (the destination
 * itself) answers `[]`.
 */
export function entryPathSegments(name: string): string[] {
  const problem = problemOfText(name);
  if (problem !== undefined) throw new UnsafeArchiveEntryError(name, `name ${problem}`);
  if (name === '') throw new UnsafeArchiveEntryError(name, 'empty name');
  if (name.startsWith('/')) throw new UnsafeArchiveEntryError(name, 'path is absolute');
  const segments = normalise(name.split('/'), []);
  if (segments === null) throw new UnsafeArchiveEntryError(name, 'path leaves the destination');
  return segments;
}

function checkTarget(name: string, kind: 'symlink' | 'hardlink', target: string): void {
  if (target === '') throw new UnsafeArchiveEntryError(name, `${kind} has an empty target`);
  const problem = problemOfText(target);
  if (problem !== undefined) throw new UnsafeArchiveEntryError(name, `${kind} target ${problem}`);
  if (target.startsWith('/')) throw new UnsafeArchiveEntryError(name, `${kind} target ${describeName(target)} is absolute`);
}

/**
 * Where a symlink at `linkSegments` points, resolved lexically from the link's folder (as the kernel
 * does for a relative target). Refuses empty, NUL-bearing, absolute and escaping targets.
 */
export function symlinkTargetSegments(name: string, linkSegments: readonly string[], target: string): string[] {
  checkTarget(name, 'symlink', target);
  const segments = normalise(target.split('/'), linkSegments.slice(0, -1));
  if (segments === null) throw new UnsafeArchiveEntryError(name, `symlink target ${describeName(target)} leaves the destination`);
  return segments;
}

/**
 * The archive member a hard link names. A hard link's target is a path in the archive (tar
 * semantics: from the archive's root, not from the link's folder). Refuses empty, NUL-bearing,
 * absolute and escaping targets.
 */
export function hardlinkTargetSegments(name: string, target: string): string[] {
  checkTarget(name, 'hardlink', target);
  const segments = normalise(target.split('/'), []);
  if (segments === null) throw new UnsafeArchiveEntryError(name, `hardlink target ${describeName(target)} leaves the destination`);
  if (segments.length === 0) throw new UnsafeArchiveEntryError(name, `hardlink target ${describeName(target)} is not a regular file`);
  return segments;
}
