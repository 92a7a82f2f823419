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

export interface UnpackOptions {
  /** Lowercase hex SHA-256 the archive's bytes must have; checked before anything becomes visible. */
  readonly expectedSha256?: string;
  /** Byte count the archive must have; a longer stream is stopped as soon as it passes this size. */
  readonly expectedSize?: number;
}
