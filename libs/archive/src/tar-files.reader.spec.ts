import { craftTar, failingStreamOf, streamOf } from '../../../test/support/archive';
import { ArchiveFormatError } from './archive.errors';
import { readTarFiles } from './tar-files.reader';

/* readTarFiles against hand-made archives: which entries it answers, and how it refuses. */

const options = { maxFileBytes: 100 };

describe('readTarFiles', () => {
  it('reads the asked files by their normalised path, in one pass, and leaves out the rest', async () => {
    const archive = await craftTar([
      { name: 'infrabox.json', content: '{"root": true}' },
      { name: './ci/', type: 'directory' },
      { name: './ci/sub.json', content: '{"sub": 1}' },
      { name: 'ci/other.json', content: 'not asked' },
    ]);
    const found = await readTarFiles(streamOf(archive, 7), ['ci/sub.json', 'ci/missing.json'], options);
    expect([...found]).toEqual([['ci/sub.json', { content: Buffer.from('{"sub": 1}') }]]);
  });

  it('takes the last entry of a path, as unpacking does', async () => {
    const archive = await craftTar([
      { name: 'a.json', content: 'first' },
      { name: 'a.json', content: 'second' },
    ]);
    expect((await readTarFiles(streamOf(archive), ['a.json'], options)).get('a.json')).toEqual({ content: Buffer.from('second') });
  });

  it('answers a problem for a directory, a link or a file over the limit', async () => {
    const archive = await craftTar([
      { name: 'dir.json/', type: 'directory' },
      { name: 'link.json', type: 'symlink', linkname: 'dir.json' },
      { name: 'big.json', content: 'x'.repeat(101) },
    ]);
    const found = await readTarFiles(streamOf(archive), ['dir.json', 'link.json', 'big.json'], options);
    expect(Object.fromEntries(found)).toEqual({
      'dir.json': { problem: 'is a directory, not a file' },
      'link.json': { problem: 'is a symlink, not a regular file' },
      'big.json': { problem: 'is larger than 100 bytes (101)' },
    });
  });

  it('fails with ArchiveFormatError on bytes that are no tar, and with the source’s own error', async () => {
    await expect(readTarFiles(streamOf(Buffer.alloc(1024, 7)), ['a'], options)).rejects.toBeInstanceOf(ArchiveFormatError);
    const archive = await craftTar([{ name: 'a.json', content: 'x'.repeat(50) }]);
    const broken = new Error('connection reset');
    await expect(readTarFiles(failingStreamOf(archive, 600, broken), ['a.json'], options)).rejects.toBe(broken);
  });
});
