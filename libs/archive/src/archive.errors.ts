/** Base class of the errors the archive library raises itself (file system errors pass through). */
export class ArchiveError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * An entry `unpackTar` refuses to write: absolute or escaping paths, links that lead out of the
 * destination, special files, NUL bytes, writes through a symlink. Nothing of the archive is left behind.
 */
export class UnsafeArchiveEntryError extends ArchiveError {
  constructor(
    /** The entry's name as it stands in the archive. */
    readonly entryName: string,
    readonly reason: string,
  ) {
    super(`entry ${describeName(entryName)}: ${reason}`);
  }
}

/** The bytes read are not the ones expected: a SHA-256 or size that differs from the recorded one. */
export class ArchiveIntegrityError extends ArchiveError {
  constructor(
    readonly check: 'sha256' | 'size',
    readonly expected: string,
    readonly actual: string,
    options?: { cause?: unknown },
  ) {
    super(
      check === 'sha256'
        ? `archive sha256 mismatch: expected ${expected}, got ${actual}`
        : `archive size mismatch: expected ${expected} bytes, got ${actual}`,
      options,
    );
  }
}

/** The archive is over one of its caps (`ArchiveLimits`): too many entries, or too many bytes unpacked. */
export class ArchiveLimitError extends ArchiveError {
  constructor(
    readonly limit: 'entries' | 'unpacked-bytes',
    readonly cap: number,
  ) {
    super(
      limit === 'entries'
        ? `the archive has more than ${cap} entries (the cap of an archive)`
        : `the archive unpacks to more than ${cap} bytes (the cap of an archive)`,
    );
  }
}

/** The stream is not a well-formed tar archive (bad header checksum, truncated data, no end marker). */
export class ArchiveFormatError extends ArchiveError {}

/** `unpackTar`'s destination exists and is not an empty directory (checked before and at the rename). */
export class ArchiveDestinationError extends ArchiveError {
  constructor(
    readonly destination: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot unpack into '${destination}': ${reason}`, options);
  }
}

/**
 * Renders an entry name or link target for messages: in single quotes, NUL and control characters
 * escaped (`\0`, `\n`, `\x1b`), very long names shortened.
 */
export function describeName(name: string): string {
  const shown = name.length > 200 ? `${name.slice(0, 197)}...` : name;
  const escaped = shown.replace(/[\\'\u0000-\u001f\u007f]/g, (c) => {
    switch (c) {
      case '\\':
        return '\\\\';
      case "'":
        return "\\'";
      case '\0':
        return '\\0';
      case '\n':
        return '\\n';
      case '\t':
        return '\\t';
      default:
        return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
    }
  });
  return `'${escaped}'`;
}
