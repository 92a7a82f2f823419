import { execFileSync } from 'node:child_process';
import { chmod, lutimes, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { collect, makeTempDir, readTar, removeTempDir, sha256Of } from '../../../test/support/archive';
import { ArchiveError } from './archive.errors';
import { packDirectory } from './directory.packer';
import { createIgnoreMatcher } from './ignore-file.matcher';

let root: string;

beforeEach(async () => {
  root = await makeTempDir('pack');
});

afterEach(async () => {
  await removeTempDir(root);
});

const T1 = new Date('2021-06-01T12:00:00Z');
const T2 = new Date('2022-02-02T02:02:02Z');

/** Builds a small folder; `reverse` creates the same things in the opposite order. */
async function buildFolder(dir: string, reverse = false): Promise<void> {
  await mkdir(dir, { recursive: true });
  const steps: (() => Promise<void>)[] = [
    () => mkdir(path.join(dir, 'a', 'empty'), { recursive: true }).then(() => undefined),
    () => mkdir(path.join(dir, 'a'), { recursive: true }).then(() => writeFile(path.join(dir, 'a', 'z'), 'zed')),
    () => writeFile(path.join(dir, 'a-c'), 'dash'),
    () => writeFile(path.join(dir, 'b.txt'), 'bee'),
    () => writeFile(path.join(dir, 'empty-file'), ''),
    () => writeFile(path.join(dir, 'exec.sh'), '#!/bin/sh\n', { mode: 0o755 }),
    () => symlink('b.txt', path.join(dir, 'link')),
  ];
  for (const step of reverse ? [...steps].reverse() : steps) await step();
  await chmod(path.join(dir, 'exec.sh'), 0o755);
  await chmod(path.join(dir, 'b.txt'), 0o640);
  for (const file of ['a/z', 'a-c', 'b.txt', 'empty-file', 'exec.sh']) await utimes(path.join(dir, file), T1, T1);
  await lutimes(path.join(dir, 'link'), T1, T1);
  for (const folder of ['a/empty', 'a']) await utimes(path.join(dir, folder), T2, T2);
}

async function packToBuffer(dir: string, ignore?: ReturnType<typeof createIgnoreMatcher>) {
  const packed = packDirectory(dir, ignore === undefined ? {} : { ignore });
  const bytes = await collect(packed.stream);
  return { bytes, summary: await packed.done };
}

describe('packDirectory', () => {
  it('packs files, directories (empty ones too) and symlinks in sorted order, with normalised headers', async () => {
    await buildFolder(root);

    const { bytes } = await packToBuffer(root);
    const entries = await readTar(bytes);

    expect(entries.map((entry) => [entry.header.name, entry.header.type])).toEqual([
      ['a-c', 'file'],
      ['a/', 'directory'],
      ['a/empty/', 'directory'],
      ['a/z', 'file'],
      ['b.txt', 'file'],
      ['empty-file', 'file'],
      ['exec.sh', 'file'],
      ['link', 'symlink'],
    ]);
    const byName = new Map(entries.map((entry) => [entry.header.name, entry]));
    expect(byName.get('a/z')?.content.toString()).toBe('zed');
    expect(byName.get('empty-file')?.content.length).toBe(0);
    expect(byName.get('exec.sh')?.header.mode).toBe(0o755);
    expect(byName.get('b.txt')?.header.mode).toBe(0o640);
    expect(byName.get('link')?.header.linkname).toBe('b.txt');
    expect(byName.get('b.txt')?.header.mtime.getTime()).toBe(T1.getTime());
    expect(byName.get('a/')?.header.mtime.getTime()).toBe(T2.getTime());
    for (const { header } of entries) {
      expect([header.uid, header.gid, header.uname, header.gname]).toEqual([0, 0, '', '']);
    }
  });

  it('measures the bytes it streams: size, sha256 and entries in done', async () => {
    await buildFolder(root);

    const { bytes, summary } = await packToBuffer(root);

    expect(summary).toEqual({ size: bytes.length, sha256: sha256Of(bytes), entries: 8 });
  });

  it('gives the same bytes for the same folder, whatever the order its entries were made in', async () => {
    const first = path.join(root, 'first');
    const second = path.join(root, 'second');
    await buildFolder(first);
    await buildFolder(second, true);

    const [one, again, other] = await Promise.all([packToBuffer(first), packToBuffer(first), packToBuffer(second)]);

    expect(again.summary.sha256).toBe(one.summary.sha256);
    expect(other.summary.sha256).toBe(one.summary.sha256);
    expect(other.bytes.equals(one.bytes)).toBe(true);
  });

  it('packs an empty folder as an empty archive (the end marker alone)', async () => {
    const { bytes, summary } = await packToBuffer(root);

    expect(bytes.equals(Buffer.alloc(1024))).toBe(true);
    expect(summary).toEqual({ size: 1024, sha256: sha256Of(Buffer.alloc(1024)), entries: 0 });
  });

  it('keeps symlinks as symlinks and never follows them out of the folder', async () => {
    const outside = path.join(root, 'outside');
    const folder = path.join(root, 'folder');
    await mkdir(outside);
    await mkdir(folder);
    await writeFile(path.join(outside, 'secret'), 'do not pack me');
    await symlink(outside, path.join(folder, 'absolute'));
    await symlink('../outside', path.join(folder, 'relative'));
    await symlink('../outside/secret', path.join(folder, 'file-link'));

    const { bytes } = await packToBuffer(folder);
    const entries = await readTar(bytes);

    expect(entries.map((entry) => [entry.header.name, entry.header.type, entry.header.linkname])).toEqual([
      ['absolute', 'symlink', outside],
      ['file-link', 'symlink', '../outside/secret'],
      ['relative', 'symlink', '../outside'],
    ]);
    expect(bytes.includes(Buffer.from('do not pack me'))).toBe(false);
  });

  it('leaves out FIFOs and sockets (and does not hang on them)', async () => {
    await writeFile(path.join(root, 'regular'), 'r');
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(path.join(root, 'socket'), resolve));
    try {
      const { bytes, summary } = await packToBuffer(root);

      expect((await readTar(bytes)).map((entry) => entry.header.name)).toEqual(['regular']);
      expect(summary.entries).toBe(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('stores long, unicode and odd names whole (PAX headers)', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(150)}.bin`;
    const names = ['ünïcödé 名前 😀.txt', 'new\nline', long];
    for (const name of names) {
      await mkdir(path.dirname(path.join(root, name)), { recursive: true });
      await writeFile(path.join(root, name), name);
    }
    await symlink('t'.repeat(200), path.join(root, 'long-link'));

    const entries = await readTar((await packToBuffer(root)).bytes);
    const files = entries.filter((entry) => entry.header.type === 'file');

    expect(files.map((entry) => entry.header.name).sort()).toEqual([...names].sort());
    for (const entry of files) expect(entry.content.toString()).toBe(entry.header.name);
    expect(entries.find((entry) => entry.header.name === 'long-link')?.header.linkname).toBe('t'.repeat(200));
  });

  it('keeps a mode of 000', async () => {
    await writeFile(path.join(root, 'locked'), 'x');
    await chmod(path.join(root, 'locked'), 0o000);

    const entries = await readTar((await packToBuffer(root)).bytes);

    expect(entries[0]?.header.mode).toBe(0);
  });

  it('leaves out what the ignore matcher names, without descending into ignored folders', async () => {
    const files = ['build/keep', 'build/x', 'a.log', 'src/a.ts', 'src/deep/b.log', 'out/keep', 'out/drop', '.git/HEAD', 'sub/.git'];
    for (const file of files) {
      await mkdir(path.dirname(path.join(root, file)), { recursive: true });
      await writeFile(path.join(root, file), file);
    }
    const ignore = createIgnoreMatcher('build/\n!build/keep\n*.log\nout/*\n!out/keep\n');

    const ignored = await readTar((await packToBuffer(root, ignore)).bytes);
    const everything = await readTar((await packToBuffer(root)).bytes);

    expect(ignored.map((entry) => entry.header.name)).toEqual(['out/', 'out/keep', 'src/', 'src/a.ts', 'src/deep/', 'sub/']);
    expect(everything.map((entry) => entry.header.name)).toContain('.git/HEAD');
  });

  it('fails the stream and done alike for a path that is not a folder', async () => {
    await writeFile(path.join(root, 'file'), 'x');
    const packed = packDirectory(path.join(root, 'file'));

    await expect(collect(packed.stream)).rejects.toThrow(`cannot pack '${path.join(root, 'file')}': not a directory`);
    await expect(packed.done).rejects.toBeInstanceOf(ArchiveError);
  });

  it('fails on a name that is not valid UTF-8 (it could not be unpacked under its name)', async () => {
    await writeFile(Buffer.concat([Buffer.from(`${root}/bad-`), Buffer.from([0xff, 0xfe])]), 'x');
    const packed = packDirectory(root);

    await expect(collect(packed.stream)).rejects.toThrow(/the file name is not valid UTF-8/);
    await expect(packed.done).rejects.toThrow(/the file name is not valid UTF-8/);
  });

  it('reads nothing until the stream is read, and rejects done when the stream is destroyed early', async () => {
    await writeFile(path.join(root, 'big'), Buffer.alloc(4 * 1024 * 1024, 1));
    const packed = packDirectory(root);

    const first = await new Promise<Buffer>((resolve) => packed.stream.once('data', resolve));
    packed.stream.destroy();

    expect(first.length).toBeGreaterThan(0);
    await expect(packed.done).rejects.toThrow(/stopped before the end of the archive/);
  });

  it('rejects done with the error the stream was destroyed with', async () => {
    await writeFile(path.join(root, 'big'), Buffer.alloc(4 * 1024 * 1024, 1));
    const packed = packDirectory(root);
    packed.stream.on('error', () => undefined);

    await new Promise((resolve) => packed.stream.once('data', resolve));
    packed.stream.destroy(new Error('consumer gave up'));

    await expect(packed.done).rejects.toThrow('consumer gave up');
  }, 10_000);
});
