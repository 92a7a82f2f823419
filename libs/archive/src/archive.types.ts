import type { Readable } from 'node:stream';
import type { IgnoreMatcher } from './ignore-file.matcher';

/** What a finished archive measured: its bytes (as streamed) and its entries. */
export interface ArchiveSummary {
  /** Bytes of the tar stream. */
  readonly size: number;
  /** Lowercase hex SHA-256 of the tar stream. */
  readonly sha256: string;
  /** Entries in the archive: files, directories and links (PAX extension headers not counted). */
  readonly entries: number;
}

export interface PackOptions {
  /** Paths to leave out (see `loadIgnoreFile` for a source folder); nothing is left out without one. */
  readonly ignore?: IgnoreMatcher;
}

export interface PackedDirectory {
  /**
   * The tar bytes. Nothing is read from the folder until the stream is read; destroying it stops the
   * packing (and rejects `done`).
   */
  readonly stream: Readable;
  /**
   * Resolves once the last byte has been read from `stream`; rejects when packing fails (the stream
   * then errors with the same error) or the stream is destroyed before its end. Never an unhandled rejection.
   */
  readonly done: Promise<ArchiveSummary>;
}

/**
 * Caps of one archive, checked entry by entry as it streams (by `TarChecker` on its way into
 * storage, and by `unpackTar`): over one, the archive is refused with an `ArchiveLimitError`
 * naming the cap, and nothing of it is kept. Path length has a fixed cap (MAX_PATH_BYTES).
 */
export interface ArchiveLimits {
  /** Entries (files, directories, links). */
  readonly maxEntries: number;
  /** Bytes of the files once unpacked (the sum of the entries' sizes). */
  readonly maxUnpackedBytes: number;
}

/** 500,000 entries and 8 GiB unpacked (a source or output past those is not a CI job's). */
export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = { maxEntries: 500_000, maxUnpackedBytes: 8 * 1024 ** 3 };

export interface UnpackOptions {
  /** Caps of the archive; default DEFAULT_ARCHIVE_LIMITS. */
  readonly limits?: ArchiveLimits;
  /** Lowercase hex SHA-256 the archive's bytes must have; checked before anything becomes visible. */
  readonly expectedSha256?: string;
  /** Byte count the archive must have; a longer stream is stopped as soon as it passes this size. */
  readonly expectedSize?: number;
}
