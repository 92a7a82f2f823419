import { createHash, randomFillSync } from 'node:crypto';
import { link, lutimes, mkdir, open, readFile, readdir, symlink, utimes, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pack as createPack } from 'tar-stream';
import {
  ArchiveIntegrityError,
  IGNORE_FILE_NAME,
  loadIgnoreFile,
  packDirectory,
  unpackTar,
  type ArchiveSummary,
} from '@infrabox/archive';
import { LocalStorage } from '@infrabox/storage';
import { listTree, makeTempDir, removeTempDir, sha256OfFile } from '../support/archive';
import { GeneratedContent, peakMemoryGrowth } from '../support/storage';

/*
 * packDirectory → (storage) → unpackTar end to end, on real folders: trees come back identical
 * (contents, links, modes, times), a 200 MiB file streams through in constant memory, and damage on
 * the way is caught before anything becomes visible.
 */

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

let root: string;

beforeEach(async () => {
  root = await makeTempDir('e2e');
});

afterEach(async () => {
  await removeTempDir(root);
});

/** Packs `source` straight into `dest`; answers both sides' summaries. */
async function roundTrip(source: string, dest: string): Promise<{ packed: ArchiveSummary; unpacked: ArchiveSummary }> {
  const { stream, done } = packDirectory(source);
  const unpacked = await unpackTar(stream, dest);
  return { packed: await done, unpacked };
}

/** A folder with most of what a job output holds. */
async function buildRichFolder(dir: string): Promise<void> {
  const binary = randomFillSync(Buffer.alloc(MiB + 123));
  const files: [string, string | Buffer][] = [
    ['README.md', '# output\n'],
    ['empty-file', ''],
    ['bin/tool', '#!/bin/sh\necho hi\n'],
    ['lib/libx.so.1.2', binary],
    ['data/nested/deeper/still/leaf.json', '{"a":1}'],
    ['ünïcödé/名前/😀.txt', 'unicode'],
    ['spaces and #hash?/x y.txt', 'odd'],
    [`${'long-directory-name-'.repeat(6)}/${'long-file-name-'.repeat(8)}.txt`, 'long path'],
    ['locked/secret', 'read-only folder'],
  ];
  for (const [name, content] of files) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  await mkdir(path.join(dir, 'empty-folder'));
  await mkdir(path.join(dir, 'data', 'empty-nested'));
  await chmod(path.join(dir, 'bin', 'tool'), 0o755);
  await chmod(path.join(dir, 'README.md'), 0o600);
  await symlink('libx.so.1.2', path.join(dir, 'lib', 'libx.so'));
  await symlink('../lib/libx.so', path.join(dir, 'bin', 'libx'));
  await symlink('not-there-yet', path.join(dir, 'dangling'));
  await symlink('data/nested', path.join(dir, 'dir-link'));
  await link(path.join(dir, 'README.md'), path.join(dir, 'hard-copy'));
  const when = new Date('2023-03-04T05:06:07Z');
  await lutimes(path.join(dir, 'bin', 'libx'), when, when);
  await utimes(path.join(dir, 'data', 'nested'), when, when);
  await chmod(path.join(dir, 'locked'), 0o555);
}

describe('archive round trip', () => {
  // The memory bounds are what is checked; a busy disk (writeback of another test's files) may take its time.
  jest.setTimeout(180_000);
  it('gives back an identical tree: contents, empty files and folders, links, unicode, modes, times', async () => {
    const source = path.join(root, 'source');
    const dest = path.join(root, 'inputs', 'parent');
    await buildRichFolder(source);

    const { packed, unpacked } = await roundTrip(source, dest);

    expect(unpacked).toEqual(packed);
    expect(await listTree(dest, { mtimes: true })).toEqual(await listTree(source, { mtimes: true }));
    expect(await readdir(path.join(root, 'inputs'))).toEqual(['parent']);
  });

  it('goes through object storage and is verified against the recorded sha256', async () => {
    const source = path.join(root, 'source');
    const storage = new LocalStorage(path.join(root, 'storage'));
    await buildRichFolder(source);

    const { stream, done } = packDirectory(source);
    const stored = await storage.put('outputs/job-1/output.tar', stream);
    const packed = await done;
    const unpacked = await unpackTar(await storage.get('outputs/job-1/output.tar'), path.join(root, 'dest'), {
      expectedSha256: stored.sha256,
      expectedSize: stored.size,
    });

    expect(stored).toEqual({ size: packed.size, sha256: packed.sha256 });
    expect(unpacked.sha256).toBe(packed.sha256);
    expect(await listTree(path.join(root, 'dest'))).toEqual(await listTree(source));
  });

  it('catches a stored archive damaged by one byte, leaving no dest and no .partial-*', async () => {
    const source = path.join(root, 'source');
    const storage = new LocalStorage(path.join(root, 'storage'));
    await buildRichFolder(source);
    const stored = await storage.put('out.tar', packDirectory(source).stream);
    const file = path.join(root, 'storage', 'objects', 'out.tar');
    const handle = await open(file, 'r+');
    await handle.write(Buffer.from([0x5a]), 0, 1, 600_000); // inside the binary file's data
    await handle.close();

    const inputs = path.join(root, 'inputs');
    const failure = unpackTar(await storage.get('out.tar'), path.join(inputs, 'parent'), { expectedSha256: stored.sha256 });

    await expect(failure).rejects.toBeInstanceOf(ArchiveIntegrityError);
    await expect(failure).rejects.toThrow(`archive sha256 mismatch: expected ${stored.sha256}, got `);
    expect(await readdir(inputs)).toEqual([]);
  });

  it('leaves nothing when the transfer breaks halfway through a large file', async () => {
    const source = path.join(root, 'source');
    await mkdir(source);
    await writeFile(path.join(source, 'big'), Buffer.alloc(20 * MiB, 3));
    const broken = new Error('peer went away');
    const { stream } = packDirectory(source);
    let sent = 0;
    const breaking = Readable.from(
      (async function* () {
        for await (const chunk of stream) {
          sent += (chunk as Buffer).length;
          if (sent > 10 * MiB) throw broken;
          yield chunk as Buffer;
        }
      })(),
      { objectMode: false },
    );

    const inputs = path.join(root, 'inputs');
    await expect(unpackTar(breaking, path.join(inputs, 'parent'))).rejects.toBe(broken);
    expect(await readdir(inputs)).toEqual([]);
  });

  it('packs a 200 MiB file in constant memory, and it comes back byte for byte', async () => {
    const source = path.join(root, 'source');
    const dest = path.join(root, 'dest');
    const storage = new LocalStorage(path.join(root, 'storage'));
    await mkdir(source);
    const hash = createHash('sha256');
    const handle = await open(path.join(source, 'big.bin'), 'w');
    const block = Buffer.alloc(4 * MiB);
    for (let written = 0; written < 200 * MiB; written += block.length) {
      randomFillSync(block);
      hash.update(block);
      await handle.write(block);
    }
    await handle.close();
    const before = hash.digest('hex');

    // A consumer that stops reading must stop the packing too (backpressure down to the file reads).
    const stalled = await peakMemoryGrowth(async () => {
      const { stream, done } = packDirectory(source);
      await new Promise<void>((resolve) =>
        stream.once('data', () => {
          stream.pause();
          resolve();
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      stream.destroy();
      await done.catch(() => undefined);
    });
    const pack = await peakMemoryGrowth(async () => {
      const { stream, done } = packDirectory(source);
      await storage.put('big.tar', stream);
      return done;
    });
    const unpacked = await unpackTar(await storage.get('big.tar'), dest, {
      expectedSha256: pack.result.sha256,
      expectedSize: pack.result.size,
    });

    process.stdout.write(
      `pack of a 200 MiB file: RSS +${mib(pack.rss)} (buffers +${mib(pack.buffers)}); stalled reader: RSS +${mib(stalled.rss)}\n`,
    );
    expect(stalled.rss).toBeLessThan(48 * MiB);
    expect(pack.rss).toBeLessThan(48 * MiB);
    expect(pack.result.size).toBe(200 * MiB + 512 + 1024);
    expect(unpacked).toEqual(pack.result);
    expect(await sha256OfFile(path.join(dest, 'big.bin'))).toBe(before);
  });

  it('unpacks a 200 MiB entry from a source faster than the disk in constant memory', async () => {
    const content = new GeneratedContent(200 * MiB);
    const dest = path.join(root, 'dest');

    // A tar stream made on the fly: one header, the generated bytes, padding and the end marker.
    const tar = packDirectoryLike('big.bin', content);
    const unpack = await peakMemoryGrowth(() => unpackTar(tar, dest));

    process.stdout.write(`unpack of a 200 MiB entry: RSS +${mib(unpack.rss)} (buffers +${mib(unpack.buffers)})\n`);
    expect(unpack.rss).toBeLessThan(48 * MiB);
    expect(unpack.result.entries).toBe(1);
    expect(await sha256OfFile(path.join(dest, 'big.bin'))).toBe(content.sha256());
  });
});

/** A one-file tar stream around `content`, generated as it is read (no file, no buffering). */
function packDirectoryLike(name: string, content: GeneratedContent): Readable {
  const pack = createPack();
  const body = content.stream();
  const entry = pack.entry({ name, size: content.size, mode: 0o644, mtime: new Date(0) }, () => pack.finalize());
  body.on('data', (chunk: Buffer) => {
    if (!entry.write(chunk)) {
      body.pause();
      entry.once('drain', () => body.resume());
    }
  });
  body.on('end', () => entry.end(null));
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}

describe('packing a source folder for infrabox push', () => {
  it(`honours ${IGNORE_FILE_NAME} and always leaves out .git`, async () => {
    const source = path.join(root, 'source');
    const files = [
      'src/main.ts',
      'src/main.spec.ts',
      'node_modules/dep/index.js',
      'dist/main.js',
      'logs/today.log',
      'logs/keep.log',
      '.git/HEAD',
      '.git/objects/ab/cdef',
      'vendor/lib/.git',
      'infrabox.json',
    ];
    for (const file of files) {
      await mkdir(path.dirname(path.join(source, file)), { recursive: true });
      await writeFile(path.join(source, file), file);
    }
    await writeFile(path.join(source, IGNORE_FILE_NAME), '# not sent\nnode_modules/\n/dist\n*.log\n!keep.log\n*.spec.ts\n');

    const { stream, done } = packDirectory(source, { ignore: await loadIgnoreFile(source) });
    await unpackTar(stream, path.join(root, 'dest'));

    const shipped = (await listTree(path.join(root, 'dest'))).map((entry) => entry.path);
    expect(shipped).toEqual([IGNORE_FILE_NAME, 'infrabox.json', 'logs', 'logs/keep.log', 'src', 'src/main.ts', 'vendor', 'vendor/lib']);
    expect((await done).entries).toBe(shipped.length);
    expect(await readFile(path.join(root, 'dest', 'src', 'main.ts'), 'utf8')).toBe('src/main.ts');
  });
});
