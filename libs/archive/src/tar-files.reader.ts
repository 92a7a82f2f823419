import type { Readable } from 'node:stream';
import { extract as createExtract, type Header } from 'tar-stream';
import { entryPathSegments } from './archive-path.validator';
import { ArchiveFormatError, UnsafeArchiveEntryError } from './archive.errors';

/** One file asked of `readTarFiles`: its bytes, or why it cannot be read from the archive. */
export type TarFileRead = { content: Buffer } | { problem: string };

/**
 * Reads the regular files at `paths` (archive paths, normalised: `ci/sub.json`) out of the tar
 * stream `source`, in one pass, keeping in memory only those files, each at most `maxFileBytes`.
 * Entry names are normalised as `unpackTar` does (`./ci/sub.json` is `ci/sub.json`); a later entry
 * of the same path replaces an earlier one, as when unpacking. A path not in the archive is absent
 * from the answer; one that is a directory, a link or larger than the limit answers a problem.
 * Fails with `ArchiveFormatError` when `source` is not a tar stream, or with the source's error.
 */
export async function readTarFiles(source: Readable, paths: Iterable<string>, options: { maxFileBytes: number }): Promise<Map<string, TarFileRead>> {
  const wanted = new Set(paths);
  const found = new Map<string, TarFileRead>();
  const extract = createExtract();
  source.on('error', (error) => extract.destroy(error));
  source.pipe(extract);
  try {
    for await (const entry of extract) {
      const header = entry.header as Header;
      const path = archivePath(header.name);
      if (path === undefined || !wanted.has(path)) {
        entry.resume();
        continue;
      }
      if (header.type !== 'file' && header.type !== 'contiguous-file') {
        entry.resume();
        found.set(path, { problem: header.type === 'directory' ? 'is a directory, not a file' : `is a ${header.type ?? 'special entry'}, not a regular file` });
        continue;
      }
      if (header.size !== undefined && header.size > options.maxFileBytes) {
        entry.resume();
        found.set(path, { problem: `is larger than ${options.maxFileBytes} bytes (${header.size})` });
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
      found.set(path, { content: Buffer.concat(chunks) });
    }
  } catch (error) {
    source.destroy();
    if (error === source.errored) throw error;
    throw new ArchiveFormatError(`not a valid tar stream: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return found;
}

/** The normalised path of an entry name; undefined for names `unpackTar` refuses or the root itself. */
function archivePath(name: string): string | undefined {
  try {
    const segments = entryPathSegments(name);
    return segments.length === 0 ? undefined : segments.join('/');
  } catch (error) {
    if (error instanceof UnsafeArchiveEntryError) return undefined;
    throw error;
  }
}
