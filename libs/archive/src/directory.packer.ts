import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pack as createPack, type Header, type Pack } from 'tar-stream';
import { ArchiveError, describeName } from './archive.errors';
import type { ArchiveSummary, PackedDirectory, PackOptions } from './archive.types';
import type { IgnoreMatcher } from './ignore-file.matcher';

/** Bytes read from a file at a time (and the high-water mark of the returned stream). */
const CHUNK_SIZE = 64 * 1024;

const noop = (): void => undefined;

type Sink = ReturnType<Pack['entry']>;

interface Child {
  readonly name: string;
  readonly stats: Stats;
}

/**
 * Packs the contents of `dir` as a tar stream (ustar, with PAX headers for long or non-ASCII names),
 * in constant memory, measuring its size and SHA-256 as it streams.
 *
 * - Entries: regular files, directories (empty ones too) and symlinks, with paths relative to `dir`
 *   (directories end with `/`). `dir` itself is not an entry, so an empty folder gives an empty
 *   archive (the 1024-byte end marker).
 * - Order: depth first, which yields the entry names in ascending UTF-8 byte order; so the same folder
 *   gives the same bytes, apart from modification times.
 * - Headers: the file's mode (permission bits) and modification time (whole seconds); uid and gid 0,
 *   no user or group names.
 * - Links are never followed: a symlink is stored as a symlink with its target as written, and a file
 *   is opened with O_NOFOLLOW (a file swapped for a link while packing fails the packing). Hard-linked
 *   files are stored as separate files. Sockets, FIFOs and devices are left out.
 * - A file is read up to the size it had when its entry started; one that shrinks meanwhile fails the
 *   packing. Names that are not valid UTF-8 fail the packing (they could not be written back).
 */
export function packDirectory(dir: string, options: PackOptions = {}): PackedDirectory {
  let settle!: { resolve(summary: ArchiveSummary): void; reject(error: unknown): void };
  const done = new Promise<ArchiveSummary>((resolve, reject) => {
    settle = { resolve, reject };
  });
  done.catch(noop); // the caller may read only the stream; its error is on the stream too

  async function* generate(): AsyncGenerator<Buffer> {
    const pack = createPack();
    pack.on('error', noop); // reaches us through the iterator below
    const hash = createHash('sha256');
    let size = 0;
    let entries = 0;
    let producerError: unknown;
    const producer = produceEntries(pack, dir, options.ignore).then(
      (count) => {
        entries = count;
        pack.finalize();
      },
      (error: unknown) => {
        producerError = error;
        pack.destroy(error instanceof Error ? error : new Error(String(error)));
      },
    );
    let finished = false;
    let yielding = false;
    try {
      for await (const chunk of pack as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
        yielding = true;
        yield chunk;
        yielding = false;
      }
      await producer;
      if (producerError !== undefined) throw producerError;
      finished = true;
      settle.resolve({ size, sha256: hash.digest('hex'), entries });
    } catch (error) {
      // Thrown in at the `yield`: the consumer destroyed the stream with `error`. Otherwise the pack
      // failed, most likely because the producer did (its error is the one that says why).
      const reported = yielding ? error : (producerError ?? error);
      pack.destroy();
      await producer;
      settle.reject(reported);
      throw reported;
    } finally {
      if (!finished) {
        // Stopped early (the consumer destroyed the stream): stop reading the folder.
        pack.destroy();
        await producer;
        settle.reject(new ArchiveError(`packing of '${dir}' stopped before the end of the archive`));
      }
    }
  }

  const stream = Readable.from(generate(), { objectMode: false, highWaterMark: CHUNK_SIZE });
  return { stream, done };
}

/** Writes every entry of `root` into `pack`, one at a time; answers the number of entries. */
async function produceEntries(pack: Pack, root: string, ignore: IgnoreMatcher | undefined): Promise<number> {
  const rootStats = await stat(root);
  if (!rootStats.isDirectory()) throw new ArchiveError(`cannot pack '${root}': not a directory`);
  let entries = 0;

  const walk = async (absoluteDir: string, relativeDir: string): Promise<void> => {
    for (const child of await sortedChildren(absoluteDir, relativeDir)) {
      const absolute = path.join(absoluteDir, child.name);
      const relative = relativeDir === '' ? child.name : `${relativeDir}/${child.name}`;
      const { stats } = child;
      if (stats.isDirectory()) {
        if (ignore?.ignores(relative, true)) continue;
        await writeEntry(pack, header(`${relative}/`, 'directory', stats));
        entries++;
        await walk(absolute, relative);
      } else if (stats.isSymbolicLink()) {
        if (ignore?.ignores(relative, false)) continue;
        const target = await readlink(absolute);
        await writeEntry(pack, { ...header(relative, 'symlink', stats), linkname: target });
        entries++;
      } else if (stats.isFile()) {
        if (ignore?.ignores(relative, false)) continue;
        if (await writeFile(pack, absolute, relative)) entries++;
      }
      // Sockets, FIFOs and devices have no place in an archive that unpackTar accepts.
    }
  };

  await walk(root, '');
  return entries;
}

/**
 * The entries of a folder with their lstat, sorted so that a depth-first walk yields ascending paths:
 * a directory sorts as its name followed by `/` (so `a-b` comes before `a/…`). Entries that vanish
 * between the listing and the lstat are left out.
 */
async function sortedChildren(absoluteDir: string, relativeDir: string): Promise<Child[]> {
  const children: { name: string; stats: Stats; key: Buffer }[] = [];
  for (const raw of await readdir(absoluteDir, { encoding: 'buffer' })) {
    const name = raw.toString('utf8');
    if (!Buffer.from(name, 'utf8').equals(raw)) {
      const shown = relativeDir === '' ? name : `${relativeDir}/${name}`;
      throw new ArchiveError(`cannot pack ${describeName(shown)}: the file name is not valid UTF-8`);
    }
    let stats: Stats;
    try {
      stats = await lstat(path.join(absoluteDir, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    children.push({ name, stats, key: Buffer.from(stats.isDirectory() ? `${name}/` : name, 'utf8') });
  }
  return children.sort((a, b) => Buffer.compare(a.key, b.key));
}

function header(name: string, type: 'file' | 'directory' | 'symlink', stats: Stats): Header {
  return {
    name,
    type,
    size: 0,
    // tar-stream keeps the permission bits (mode & 0o7777); passing the type bits too keeps a mode of
    // 000 from being taken as "no mode given".
    mode: stats.mode,
    mtime: stats.mtime,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    linkname: '',
    devmajor: 0,
    devminor: 0,
  };
}

/** Starts an entry; `done` settles when tar-stream has taken the whole entry (or failed). */
function startEntry(pack: Pack, entryHeader: Header): { sink: Sink; done: Promise<void> } {
  let settle!: { resolve(): void; reject(error: Error): void };
  const done = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  done.catch(noop); // awaited by the caller; this only keeps an early failure from going unhandled
  const sink = pack.entry(entryHeader, (error) => (error ? settle.reject(error) : settle.resolve()));
  sink.on('error', noop); // the same error reaches `done`
  return { sink, done };
}

/** A directory or symlink entry (no body). */
async function writeEntry(pack: Pack, entryHeader: Header): Promise<void> {
  await startEntry(pack, entryHeader).done;
}

/**
 * A regular file, streamed from a descriptor opened without following links. Answers false when the
 * file vanished before it could be opened.
 */
async function writeFile(pack: Pack, absolute: string, relative: string): Promise<boolean> {
  let handle;
  try {
    // O_NONBLOCK: should the file have become a FIFO since the lstat, the open must not wait for a writer.
    handle = await open(absolute, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new ArchiveError(`cannot pack ${describeName(relative)}: it became a symlink while the folder was packed`, { cause: error });
    }
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new ArchiveError(`cannot pack ${describeName(relative)}: it is no longer a regular file`);
    }
    const size = stats.size;
    const { sink, done } = startEntry(pack, { ...header(relative, 'file', stats), size });
    if (size > 0) {
      const reader = handle.createReadStream({ start: 0, end: size - 1, autoClose: false, highWaterMark: CHUNK_SIZE });
      let read = 0;
      try {
        for await (const chunk of reader as AsyncIterable<Buffer>) {
          read += chunk.length;
          if (!sink.write(chunk)) await drained(sink);
        }
      } finally {
        reader.destroy();
      }
      if (read !== size) {
        throw new ArchiveError(`cannot pack ${describeName(relative)}: the file shrank from ${size} to ${read} bytes while it was packed`);
      }
    }
    sink.end(null);
    await done;
    return true;
  } finally {
    await handle.close();
  }
}

/** Resolves when `sink` wants more data; rejects when it is destroyed first. */
function drained(sink: Sink): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (sink.destroying || sink.destroyed) {
      // Its 'close' may have gone already (a sink opened after the pack was destroyed).
      reject(new ArchiveError('the tar stream was closed while a file was packed'));
      return;
    }
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onClose = () => {
      cleanup();
      reject(new ArchiveError('the tar stream was closed while a file was packed'));
    };
    const cleanup = () => {
      sink.off('drain', onDrain);
      sink.off('close', onClose);
    };
    sink.on('drain', onDrain);
    sink.on('close', onClose);
  });
}
