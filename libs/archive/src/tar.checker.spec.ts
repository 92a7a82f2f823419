import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { END_OF_ARCHIVE, type CraftedEntry, collect, craftTar, rawHeader, streamOf } from '../../../test/support/archive';
import { ArchiveFormatError, ArchiveLimitError, UnsafeArchiveEntryError } from './archive.errors';
import type { ArchiveLimits } from './archive.types';
import { TarChecker } from './tar.checker';

/** Runs `bytes` through a checker into a sink; what came out, or the error. */
async function check(bytes: Buffer, chunkSize = 700, limits?: ArchiveLimits): Promise<{ out: Buffer } | { error: unknown; checker: TarChecker }> {
  const checker = new TarChecker(limits);
  const sink = new PassThrough();
  const out = collect(sink);
  out.catch(() => undefined); // the pipeline's error is the one looked at
  try {
    await pipeline(streamOf(bytes, chunkSize), checker, sink);
    return { out: await out };
  } catch (error) {
    return { error, checker };
  }
}

describe('TarChecker', () => {
  it('passes a well-formed archive through byte for byte', async () => {
    const tar = await craftTar([
      { name: 'dir/', type: 'directory' },
      { name: 'dir/file.txt', content: 'x'.repeat(5000) },
      { name: 'empty' },
      { name: 'dir/link', type: 'symlink', linkname: 'file.txt' },
      { name: 'hard', type: 'link', linkname: 'dir/file.txt' },
    ]);
    for (const chunkSize of [1, 512, 700, 1 << 20]) {
      const result = await check(tar, chunkSize);
      expect(result).toEqual({ out: tar });
    }
  });

  // Found by the bad-input sweep: these went into storage as sources and job outputs unchecked.
  it.each<[string, CraftedEntry[], string]>([
    ['a climbing name', [{ name: '../x', content: 'x' }], "entry '../x': path leaves the destination"],
    ['an absolute name', [{ name: '/etc/passwd', content: 'x' }], "entry '/etc/passwd': path is absolute"],
    ['a symlink out', [{ name: 'l', type: 'symlink', linkname: '../../x' }], "entry 'l': symlink target '../../x' leaves the destination"],
    ['a hardlink out', [{ name: 'h', type: 'link', linkname: '/etc/passwd' }], "entry 'h': hardlink target '/etc/passwd' is absolute"],
    ['a device', [{ name: 'd', type: 'character-device' }], "entry 'd': device files are not allowed (character-device)"],
    ['a FIFO', [{ name: 'f', type: 'fifo' }], "entry 'f': FIFOs are not allowed"],
    ['a NUL in a name', [{ name: 'p', content: 'x', pax: { path: 'a\0b' } }], "entry 'a\\0b': name contains a NUL byte"],
    ['a write through a symlink', [{ name: 'd', type: 'symlink', linkname: '.' }, { name: 'd/x', content: 'x' }], "entry 'd/x': path goes through the symlink 'd'"],
    ['a symlink out through another', [{ name: 'a', type: 'symlink', linkname: '.' }, { name: 'b', type: 'symlink', linkname: 'a/..' }], "entry 'b': symlink target 'a/..' leaves the destination"],
    ['a hardlink to nothing unpacked before', [{ name: 'h', type: 'link', linkname: 'later' }, { name: 'later', content: 'x' }], "entry 'h': hardlink target 'later' is not in the archive"],
    ['a file replacing a directory', [{ name: 'dir/', type: 'directory' }, { name: 'dir', content: 'x' }], "entry 'dir': would replace a directory"],
  ])('refuses %s, naming the entry', async (_, entries, message) => {
    const result = await check(await craftTar([{ name: 'ok.txt', content: 'fine' }, ...entries]));
    expect(result).toMatchObject({ error: expect.any(UnsafeArchiveEntryError) });
    const { error, checker } = result as { error: Error; checker: TarChecker };
    expect(error.message).toBe(message);
    expect(checker.failure).toBe(error);
  });

  it('refuses a name that is not UTF-8', async () => {
    const header = rawHeader({ name: 'placeholder', typeflag: '0', size: 0 });
    header.fill(0, 0, 100);
    Buffer.from([0x6e, 0xff, 0x2e]).copy(header, 0);
    header.fill(0x20, 148, 156);
    header.write(`${header.reduce((sum, byte) => sum + byte, 0).toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    const result = await check(Buffer.concat([header, END_OF_ARCHIVE]));
    expect((result as { error: Error }).error.message).toBe("entry 'n\ufffd.': name is not valid UTF-8");
  });

  it.each([
    ['cut inside an entry', async () => (await craftTar([{ name: 'a', content: 'x'.repeat(3000) }])).subarray(0, 1500)],
    ['without its end marker', async () => (await craftTar([{ name: 'a', content: 'x' }])).subarray(0, 1024)],
    ['not a tar at all', async () => Buffer.from('just some text, long enough to fill nothing'.repeat(20))],
    ['empty', async () => Buffer.alloc(0)],
  ])('refuses a stream %s as ArchiveFormatError', async (_, make) => {
    const result = await check(await make());
    expect((result as { error: unknown }).error).toBeInstanceOf(ArchiveFormatError);
  });
});

describe('TarChecker caps', () => {
  it('stops an archive with more entries or unpacked bytes than its caps, naming the cap', async () => {
    const tar = await craftTar(Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, content: 'x'.repeat(1_000) })));
    const entries = await check(tar, 700, { maxEntries: 4, maxUnpackedBytes: 1_000_000 });
    expect('error' in entries && entries.error).toBeInstanceOf(ArchiveLimitError);
    expect('error' in entries && (entries.error as Error).message).toBe('the archive has more than 4 entries (the cap of an archive)');
    const bytes = await check(tar, 700, { maxEntries: 100, maxUnpackedBytes: 4_999 });
    expect('error' in bytes && (bytes.error as Error).message).toBe('the archive unpacks to more than 4999 bytes (the cap of an archive)');
    expect(await check(tar, 700, { maxEntries: 5, maxUnpackedBytes: 5_000 })).toEqual({ out: tar });
  });
});
