import { lstat, mkdir, readFile, readdir, readlink, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  END_OF_ARCHIVE,
  type CraftedEntry,
  craftTar,
  exists,
  failingStreamOf,
  makeTempDir,
  rawHeader,
  removeTempDir,
  sha256Of,
  streamOf,
} from '../../../test/support/archive';
import * as errors from './archive.errors';

const { ArchiveDestinationError, ArchiveError, ArchiveFormatError, ArchiveIntegrityError, ArchiveLimitError, UnsafeArchiveEntryError } = errors;
import { unpackTar } from './tar.unpacker';

/*
 * unpackTar against hand-made archives: each refusal, the atomic all-or-nothing, the integrity checks.
 * Every destination lives in its own `work` folder, so "nothing is left" is `readdir(work)` being empty.
 */

let root: string;
let work: string;
let dest: string;

beforeEach(async () => {
  root = await makeTempDir('unpack');
  work = path.join(root, 'work');
  dest = path.join(work, 'dest');
});

afterEach(async () => {
  await removeTempDir(root);
});

async function unpackEntries(entries: readonly CraftedEntry[]) {
  return unpackTar(streamOf(await craftTar(entries)), dest);
}

async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the unpack to fail');
}

describe('unpackTar refuses unsafe entries', () => {
  const cases: [string, CraftedEntry[], string][] = [
    ['an absolute path', [{ name: '/tmp/evil', content: 'x' }], "entry '/tmp/evil': path is absolute"],
    ['a .. that escapes', [{ name: '../escape', content: 'x' }], "entry '../escape': path leaves the destination"],
    ['a .. that escapes further down', [{ name: 'a/../../escape', content: 'x' }], "entry 'a/../../escape': path leaves the destination"],
    ['a NUL byte in the name', [{ name: 'placeholder', pax: { path: 'a\0b' }, content: 'x' }], "entry 'a\\0b': name contains a NUL byte"],
    ['an empty name', [{ name: '', content: 'x' }], "entry '': empty name"],
    ['a symlink to an absolute path', [{ name: 'link', type: 'symlink', linkname: '/etc' }], "entry 'link': symlink target '/etc' is absolute"],
    [
      'a symlink out (the brief: link → /etc, then link/passwd)',
      [
        { name: 'link', type: 'symlink', linkname: '/etc' },
        { name: 'link/passwd', content: 'root::0:0::/:/bin/sh' },
      ],
      "entry 'link': symlink target '/etc' is absolute",
    ],
    [
      'a relative symlink that climbs out',
      [{ name: 'sub/link', type: 'symlink', linkname: '../../outside' }],
      "entry 'sub/link': symlink target '../../outside' leaves the destination",
    ],
    [
      'a symlink whose target climbs out through another symlink',
      [
        { name: 'here', type: 'symlink', linkname: '.' },
        { name: 'out', type: 'symlink', linkname: 'here/..' },
      ],
      "entry 'out': symlink target 'here/..' leaves the destination",
    ],
    [
      'a symlink that leads out only once a later entry exists',
      [
        { name: 'out', type: 'symlink', linkname: 'later/..' },
        { name: 'later', type: 'symlink', linkname: '.' },
      ],
      "entry 'out': symlink target 'later/..' leaves the destination",
    ],
    [
      'a symlink loop',
      [
        { name: 'a', type: 'symlink', linkname: 'b' },
        { name: 'b', type: 'symlink', linkname: 'a' },
      ],
      "entry 'a': symlink target 'b' goes through too many symlinks",
    ],
    [
      'a write through a symlink that stays inside',
      [
        { name: 'sub/', type: 'directory' },
        { name: 'link', type: 'symlink', linkname: 'sub' },
        { name: 'link/passwd', content: 'x' },
      ],
      "entry 'link/passwd': path goes through the symlink 'link'",
    ],
    [
      'a directory made through a symlink',
      [
        { name: 'sub/', type: 'directory' },
        { name: 'link', type: 'symlink', linkname: 'sub' },
        { name: 'link/deeper/', type: 'directory' },
      ],
      "entry 'link/deeper/': path goes through the symlink 'link'",
    ],
    ['a hardlink to an absolute path', [{ name: 'hard', type: 'link', linkname: '/etc/passwd' }], "entry 'hard': hardlink target '/etc/passwd' is absolute"],
    ['a hardlink that climbs out', [{ name: 'hard', type: 'link', linkname: '../outside' }], "entry 'hard': hardlink target '../outside' leaves the destination"],
    ['a hardlink to nothing unpacked', [{ name: 'hard', type: 'link', linkname: 'missing' }], "entry 'hard': hardlink target 'missing' is not in the archive"],
    [
      'a hardlink through a symlink',
      [
        { name: 'sub/file', content: 'x' },
        { name: 'link', type: 'symlink', linkname: 'sub' },
        { name: 'hard', type: 'link', linkname: 'link/file' },
      ],
      "entry 'hard': hardlink target 'link/file' goes through the symlink 'link'",
    ],
    [
      'a hardlink to a directory',
      [
        { name: 'sub/', type: 'directory' },
        { name: 'hard', type: 'link', linkname: 'sub' },
      ],
      "entry 'hard': hardlink target 'sub' is not a regular file",
    ],
    ['a character device', [{ name: 'null', type: 'character-device' }], "entry 'null': device files are not allowed (character-device)"],
    ['a block device', [{ name: 'disk', type: 'block-device' }], "entry 'disk': device files are not allowed (block-device)"],
    ['a FIFO', [{ name: 'pipe', type: 'fifo' }], "entry 'pipe': FIFOs are not allowed"],
    [
      'a file replacing a directory',
      [
        { name: 'sub/inner', content: 'x' },
        { name: 'sub', content: 'y' },
      ],
      "entry 'sub': would replace a directory",
    ],
    [
      'a path through a file',
      [
        { name: 'file', content: 'x' },
        { name: 'file/inner', content: 'y' },
      ],
      "entry 'file/inner': path goes through 'file', which is not a directory",
    ],
    ['a file in place of the destination', [{ name: './', content: 'x' }], "entry './': path is the destination itself"],
  ];

  it.each(cases)('%s', async (_label, entries, message) => {
    const error = await refusal(unpackEntries(entries));

    expect(error).toBeInstanceOf(UnsafeArchiveEntryError);
    expect(error.message).toBe(message);
    expect(await readdir(work)).toEqual([]); // no dest, no .partial-*, nothing escaped into the parent
    expect(await exists(path.join(root, 'escape'))).toBe(false);
    expect(await exists(path.join(root, 'outside'))).toBe(false);
  });

  it('refuses an entry type tar-stream does not know (a raw GNU dumpdir header)', async () => {
    const archive = Buffer.concat([rawHeader({ name: 'dump', typeflag: 'D' }), END_OF_ARCHIVE]);

    const error = await refusal(unpackTar(streamOf(archive), dest));

    expect(error).toBeInstanceOf(UnsafeArchiveEntryError);
    expect(error.message).toBe("entry 'dump': entry type unknown is not supported");
    expect(await readdir(work)).toEqual([]);
  });

  it('names the entry and the reason on the error', async () => {
    const error = await refusal(unpackEntries([{ name: '../x', content: 'x' }]));

    expect(error).toMatchObject({ name: 'UnsafeArchiveEntryError', entryName: '../x', reason: 'path leaves the destination' });
  });

  it('removes what it had unpacked before the refused entry, and leaves an existing empty dest empty', async () => {
    await mkdir(dest, { recursive: true });
    const error = await refusal(
      unpackEntries([
        { name: 'ok/one', content: 'fine' },
        { name: 'ok/two', content: 'fine too' },
        { name: '/etc/shadow', content: 'x' },
      ]),
    );

    expect(error).toBeInstanceOf(UnsafeArchiveEntryError);
    expect(await readdir(work)).toEqual(['dest']);
    expect(await readdir(dest)).toEqual([]);
  });
});

describe('unpackTar accepts what stays inside', () => {
  it('normalises ./ and inner .. and skips the root entry', async () => {
    const result = await unpackEntries([
      { name: './', type: 'directory' },
      { name: './a/../b', content: 'b' },
      { name: 'c//d/./e', content: 'e' },
    ]);

    expect(result.entries).toBe(2);
    expect(await readFile(path.join(dest, 'b'), 'utf8')).toBe('b');
    expect(await readFile(path.join(dest, 'c', 'd', 'e'), 'utf8')).toBe('e');
    expect((await readdir(dest)).sort()).toEqual(['b', 'c']);
  });

  it('keeps symlinks that resolve inside, as written, dangling or not', async () => {
    await unpackEntries([
      { name: 'lib/real.so', content: 'elf' },
      { name: 'lib/link.so', type: 'symlink', linkname: 'real.so' },
      { name: 'bin/tool', type: 'symlink', linkname: '../lib/link.so' },
      { name: 'dangling', type: 'symlink', linkname: 'not/yet/there' },
      { name: 'self', type: 'symlink', linkname: '.' },
    ]);

    expect(await readlink(path.join(dest, 'bin', 'tool'))).toBe('../lib/link.so');
    expect(await readFile(path.join(dest, 'bin', 'tool'), 'utf8')).toBe('elf');
    expect(await readlink(path.join(dest, 'dangling'))).toBe('not/yet/there');
    expect(await readlink(path.join(dest, 'self'))).toBe('.');
  });

  it('lets a later entry replace an earlier one, removing a symlink instead of writing through it', async () => {
    await unpackEntries([
      { name: 'file', content: 'first' },
      { name: 'file', content: 'second' },
      { name: 'target', content: 'keep me' },
      { name: 'link', type: 'symlink', linkname: 'target' },
      { name: 'link', content: 'now a file' },
    ]);

    expect(await readFile(path.join(dest, 'file'), 'utf8')).toBe('second');
    expect(await readFile(path.join(dest, 'target'), 'utf8')).toBe('keep me');
    expect((await lstat(path.join(dest, 'link'))).isFile()).toBe(true);
    expect(await readFile(path.join(dest, 'link'), 'utf8')).toBe('now a file');
  });

  it('makes hardlinks to files unpacked before', async () => {
    await unpackEntries([
      { name: 'data/file', content: 'shared' },
      { name: 'copy', type: 'link', linkname: 'data/file' },
    ]);

    const [original, copy] = await Promise.all([stat(path.join(dest, 'data', 'file')), stat(path.join(dest, 'copy'))]);
    expect(copy.ino).toBe(original.ino);
    expect(await readFile(path.join(dest, 'copy'), 'utf8')).toBe('shared');
  });

  it('restores permission bits and times, drops setuid/setgid/sticky, and applies read-only directory modes last', async () => {
    const mtime = new Date('2020-01-02T03:04:05Z');
    await unpackEntries([
      { name: 'ro/', type: 'directory', mode: 0o555, mtime },
      { name: 'ro/inside', content: 'x', mode: 0o640 },
      { name: 'tool', content: '#!/bin/sh', mode: 0o4755, mtime },
      { name: 'shared/', type: 'directory', mode: 0o1777 },
    ]);

    expect((await stat(path.join(dest, 'ro'))).mode & 0o7777).toBe(0o555);
    expect((await stat(path.join(dest, 'ro'))).mtime.getTime()).toBe(mtime.getTime());
    expect((await stat(path.join(dest, 'ro', 'inside'))).mode & 0o7777).toBe(0o640);
    expect((await stat(path.join(dest, 'tool'))).mode & 0o7777).toBe(0o755);
    expect((await stat(path.join(dest, 'tool'))).mtime.getTime()).toBe(mtime.getTime());
    expect((await stat(path.join(dest, 'shared'))).mode & 0o7777).toBe(0o777);
  });

  it('ignores trailing zero padding after the end marker (GNU tar pads to 10 KiB records)', async () => {
    const archive = await craftTar([{ name: 'a', content: 'a' }]);
    const padded = Buffer.concat([archive, Buffer.alloc(10240 - archive.length)]);

    const result = await unpackTar(streamOf(padded, 100), dest);

    expect(result).toEqual({ entries: 1, size: 10240, sha256: sha256Of(padded) });
  });
});

describe('unpackTar is all or nothing', () => {
  it('reports entries, size and sha256 of what it read, and checks them against expectations', async () => {
    const archive = await craftTar([{ name: 'a', content: 'alpha' }]);

    const result = await unpackTar(streamOf(archive), dest, { expectedSha256: sha256Of(archive), expectedSize: archive.length });

    expect(result).toEqual({ entries: 1, size: archive.length, sha256: sha256Of(archive) });
    expect(await readdir(work)).toEqual(['dest']);
  });

  it('throws ArchiveIntegrityError naming both digests on a sha256 mismatch, and leaves nothing', async () => {
    const archive = await craftTar([{ name: 'a', content: 'alpha' }]);
    const expected = sha256Of('something else');

    const error = await refusal(unpackTar(streamOf(archive), dest, { expectedSha256: expected }));

    expect(error).toBeInstanceOf(ArchiveIntegrityError);
    expect(error.message).toBe(`archive sha256 mismatch: expected ${expected}, got ${sha256Of(archive)}`);
    expect(error).toMatchObject({ check: 'sha256', expected, actual: sha256Of(archive) });
    expect(await readdir(work)).toEqual([]);
  });

  it('throws on a size mismatch, stopping early when the stream runs past the expected size', async () => {
    const archive = await craftTar([{ name: 'a', content: Buffer.alloc(300_000, 7) }]);

    const short = await refusal(unpackTar(streamOf(archive), dest, { expectedSize: archive.length + 512 }));
    expect(short).toBeInstanceOf(ArchiveIntegrityError);
    expect(short.message).toBe(`archive size mismatch: expected ${archive.length + 512} bytes, got ${archive.length}`);

    let read = 0;
    const counted = Readable.from(
      (async function* () {
        for await (const chunk of streamOf(archive, 4096)) {
          read += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      })(),
      { objectMode: false },
    );
    const long = await refusal(unpackTar(counted, dest, { expectedSize: 1000 }));
    expect(long).toBeInstanceOf(ArchiveIntegrityError);
    expect(long.message).toBe('archive size mismatch: expected 1000 bytes, got more than 1000');
    expect(read).toBeLessThan(archive.length);
    expect(await readdir(work)).toEqual([]);
  });

  it('reports a truncated transfer as an integrity error when expectations are given', async () => {
    const archive = await craftTar([{ name: 'big', content: Buffer.alloc(200_000, 1) }]);
    const truncated = archive.subarray(0, 100_000);

    const error = await refusal(unpackTar(streamOf(truncated), dest, { expectedSha256: sha256Of(archive), expectedSize: archive.length }));

    expect(error).toBeInstanceOf(ArchiveIntegrityError);
    expect((error as errors.ArchiveIntegrityError).check).toBe('size');
    expect(error.cause).toBeInstanceOf(ArchiveFormatError);
    expect(await readdir(work)).toEqual([]);
  });

  const truncated = /the tar stream is truncated: it does not end with an end-of-archive marker/;
  // Offsets in the archive below: 'a' (header 0, data 512), 'zeros' (header 1024, data 1536–3584),
  // then the PAX header of the unicode name (3584, its records 4096) and its ustar header (4608).
  it.each([
    ['cut inside a file', (archive: Buffer) => archive.subarray(0, 700), /not a valid tar stream: Unexpected end of data/],
    ['cut after a whole entry, before the end marker', (archive: Buffer) => archive.subarray(0, 1024), truncated],
    ['cut after an entry whose data ends in zeros', (archive: Buffer) => archive.subarray(0, 3584), truncated],
    ['cut between a PAX header and its entry', (archive: Buffer) => archive.subarray(0, 4608), truncated],
    ['empty', () => Buffer.alloc(0), truncated],
    ['not a tar at all', () => Buffer.from('this is not a tar archive '.repeat(40)), /not a valid tar stream: Invalid tar header/],
  ])('throws ArchiveFormatError for a stream %s, and leaves nothing', async (_label, damage, message) => {
    const archive = await craftTar([
      { name: 'a', content: 'x'.repeat(500) },
      { name: 'zeros', content: Buffer.alloc(2048) },
      { name: 'ünïcödé', content: 'y' },
    ]);
    expect(archive.subarray(4608 + 257, 4608 + 262).toString()).toBe('ustar'); // the offsets above hold

    const error = await refusal(unpackTar(streamOf(damage(archive)), dest));

    expect(error).toBeInstanceOf(ArchiveFormatError);
    expect(error.message).toMatch(message);
    expect(await readdir(work)).toEqual([]);
  });

  it('passes on the error of a source that breaks halfway, and leaves nothing', async () => {
    const archive = await craftTar([
      { name: 'first', content: Buffer.alloc(600_000, 1) },
      { name: 'second', content: Buffer.alloc(600_000, 2) },
    ]);
    const broken = new Error('connection reset');

    const error = await refusal(unpackTar(failingStreamOf(archive, 800_000, broken), dest));

    expect(error).toBe(broken);
    expect(await readdir(work)).toEqual([]);
  });

  it('refuses a destination that is a non-empty folder or a file before reading, and leaves it alone', async () => {
    await mkdir(dest, { recursive: true });
    await writeFile(path.join(dest, 'mine'), 'do not touch');
    const source = streamOf(await craftTar([{ name: 'a', content: 'a' }]));

    const error = await refusal(unpackTar(source, dest));

    expect(error).toBeInstanceOf(ArchiveDestinationError);
    expect(error.message).toBe(`cannot unpack into '${dest}': it exists and is not empty`);
    expect(source.destroyed).toBe(true);
    expect(await readdir(dest)).toEqual(['mine']);
    expect(await readdir(work)).toEqual(['dest']);

    const file = path.join(work, 'file');
    await writeFile(file, 'plain');
    const notDirectory = await refusal(unpackTar(streamOf(await craftTar([])), file));
    expect(notDirectory.message).toBe(`cannot unpack into '${file}': it exists and is not a directory`);
    expect(await readFile(file, 'utf8')).toBe('plain');
  });

  it('replaces an existing empty folder, keeping its mode', async () => {
    await mkdir(dest, { recursive: true, mode: 0o750 });

    await unpackEntries([{ name: 'a', content: 'a' }]);

    expect(await readdir(dest)).toEqual(['a']);
    expect((await stat(dest)).mode & 0o777).toBe(0o750);
    expect(await readdir(work)).toEqual(['dest']);
  });

  it('lets exactly one of two concurrent unpacks into one destination win', async () => {
    const first = await craftTar([{ name: 'from-first', content: Buffer.alloc(400_000, 1) }]);
    const second = await craftTar([{ name: 'from-second', content: Buffer.alloc(400_000, 2) }]);

    const results = await Promise.allSettled([unpackTar(streamOf(first, 4096), dest), unpackTar(streamOf(second, 4096), dest)]);

    const failures = results.filter((result) => result.status === 'rejected');
    expect(failures).toHaveLength(1);
    expect((failures[0] as PromiseRejectedResult).reason).toBeInstanceOf(ArchiveDestinationError);
    expect(await readdir(work)).toEqual(['dest']);
    expect((await readdir(dest)).length).toBe(1);
  });

  it('raises errors of one family', async () => {
    const error = await refusal(unpackTar(Readable.from([Buffer.from('x')]), dest));

    expect(error).toBeInstanceOf(ArchiveError);
  });
});

describe('unpackTar caps', () => {
  it.each([
    ['entries', { maxEntries: 5, maxUnpackedBytes: 10_000_000 }, 'the archive has more than 5 entries (the cap of an archive)'],
    ['unpacked bytes', { maxEntries: 1_000, maxUnpackedBytes: 4_000 }, 'the archive unpacks to more than 4000 bytes (the cap of an archive)'],
  ])('refuses an archive over its cap of %s, naming the cap, and leaves nothing', async (_, limits, message) => {
    const entries: CraftedEntry[] = [{ name: 'dir', type: 'directory' }, ...Array.from({ length: 6 }, (_, i) => ({ name: `dir/f${i}`, content: 'y'.repeat(1_000) }))];
    const failure = unpackTar(streamOf(await craftTar(entries)), dest, { limits });
    await expect(failure).rejects.toThrow(ArchiveLimitError);
    await expect(failure).rejects.toThrow(message);
    expect(await readdir(work).catch(() => [])).toEqual([]);
  });

  it('takes an archive right at its caps', async () => {
    const entries: CraftedEntry[] = Array.from({ length: 4 }, (_, i) => ({ name: `f${i}`, content: 'z'.repeat(1_000) }));
    expect(await unpackTar(streamOf(await craftTar(entries)), dest, { limits: { maxEntries: 4, maxUnpackedBytes: 4_000 } })).toMatchObject({ entries: 4 });
  });
});
