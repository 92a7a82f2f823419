import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { extract as createExtract, pack as createPack, type Header } from 'tar-stream';

/*
 * Helpers for the archive tests: temp folders, hand-made tar streams (tar-stream's pack writes any
 * name or link it is given, so it crafts malicious headers too), raw headers for what it cannot
 * write, and a listing of a tree to compare two trees.
 */

export async function makeTempDir(label: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `infrabox-archive-${label}-`));
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export interface CraftedEntry {
  readonly name: string;
  readonly type?: Header['type'];
  readonly linkname?: string;
  readonly content?: string | Buffer;
  readonly mode?: number;
  readonly mtime?: Date;
  /** Extra PAX records (e.g. a `path` with a NUL byte in it). */
  readonly pax?: Record<string, string>;
}

/** A tar archive of `entries`, exactly as given (no checks), with its end-of-archive marker. */
export async function craftTar(entries: readonly CraftedEntry[]): Promise<Buffer> {
  const pack = createPack();
  const collected = (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  })();
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    const header = {
      name: entry.name,
      type,
      mode: entry.mode ?? (type === 'directory' ? 0o755 : 0o644),
      mtime: entry.mtime ?? new Date(1_700_000_000_000),
      ...(entry.linkname === undefined ? {} : { linkname: entry.linkname }),
      ...(entry.pax === undefined ? {} : { pax: entry.pax }),
      ...(type === 'character-device' || type === 'block-device' ? { devmajor: 1, devminor: 3 } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null) => (error ? reject(error) : resolve());
      if (type === 'file') pack.entry(header, entry.content ?? '', done);
      else pack.entry(header, done);
    });
  }
  pack.finalize();
  return collected;
}

/**
 * A raw 512-byte ustar header, for what tar-stream's pack will not write (unknown typeflags).
 */
export function rawHeader(fields: { name: string; typeflag: string; size?: number; linkname?: string }): Buffer {
  const block = Buffer.alloc(512);
  const octal = (value: number, width: number) => `${value.toString(8).padStart(width - 1, '0')}\0`;
  block.write(fields.name, 0, 100, 'utf8');
  block.write(octal(0o644, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii');
  block.write(octal(0, 8), 116, 'ascii');
  block.write(octal(fields.size ?? 0, 12), 124, 'ascii');
  block.write(octal(1_700_000_000, 12), 136, 'ascii');
  block.write(fields.typeflag, 156, 1, 'ascii');
  if (fields.linkname) block.write(fields.linkname, 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 'binary');
  block.fill(0x20, 148, 156); // checksum field counts as spaces
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/** Two zero blocks: the end-of-archive marker. */
export const END_OF_ARCHIVE = Buffer.alloc(1024);

/** `data` as a stream of `chunkSize`-byte chunks (small chunks exercise the parser's buffering). */
export function streamOf(data: Buffer, chunkSize = 64 * 1024): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += chunkSize) chunks.push(data.subarray(offset, offset + chunkSize));
  return Readable.from(chunks, { objectMode: false });
}

/** Yields `data`, then fails with `error` once `failAfter` bytes have gone (like a broken connection). */
export function failingStreamOf(data: Buffer, failAfter: number, error: Error): Readable {
  async function* generate() {
    for (let offset = 0; offset < failAfter; offset += 64 * 1024) {
      yield data.subarray(offset, Math.min(offset + 64 * 1024, failAfter));
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
    throw error;
  }
  return Readable.from(generate(), { objectMode: false });
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function sha256Of(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface TreeEntry {
  readonly path: string;
  readonly type: 'file' | 'directory' | 'symlink' | 'other';
  /** Permission bits (files and directories). */
  readonly mode?: number;
  readonly size?: number;
  /** SHA-256 of a file's content. */
  readonly sha256?: string;
  /** A symlink's target as written. */
  readonly target?: string;
  /** Modification time in whole seconds (files and directories). */
  readonly mtime?: number;
}

/** Everything below `root` (not following links), sorted by path. */
export async function listTree(root: string, options: { mtimes?: boolean } = {}): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const absolute = path.join(dir, name);
      const relative = prefix === '' ? name : `${prefix}/${name}`;
      const stats = await lstat(absolute);
      const mtime = options.mtimes ? { mtime: Math.floor(stats.mtimeMs / 1000) } : {};
      if (stats.isSymbolicLink()) {
        out.push({ path: relative, type: 'symlink', target: await readlink(absolute) });
      } else if (stats.isDirectory()) {
        out.push({ path: relative, type: 'directory', mode: stats.mode & 0o7777, ...mtime });
        await walk(absolute, relative);
      } else if (stats.isFile()) {
        out.push({ path: relative, type: 'file', mode: stats.mode & 0o7777, size: stats.size, sha256: await sha256OfFile(absolute), ...mtime });
      } else {
        out.push({ path: relative, type: 'other' });
      }
    }
  };
  await walk(root, '');
  return out;
}

export async function exists(target: string): Promise<boolean> {
  try {
    await lstat(target);
    return true;
  } catch {
    return false;
  }
}

export interface ReadEntry {
  readonly header: Header;
  readonly content: Buffer;
}

/** The entries of a tar archive, parsed by tar-stream (an independent reader of what we write). */
export async function readTar(archive: Buffer): Promise<ReadEntry[]> {
  const extract = createExtract();
  const entries: ReadEntry[] = [];
  const reading = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      if (entry.header.type !== 'directory') for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
      entries.push({ header: entry.header, content: Buffer.concat(chunks) });
    }
  })();
  extract.end(archive);
  await reading;
  return entries;
}
