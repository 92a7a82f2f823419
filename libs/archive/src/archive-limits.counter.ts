import { ArchiveLimitError } from './archive.errors';
import { type ArchiveLimits, DEFAULT_ARCHIVE_LIMITS } from './archive.types';

/** Counts an archive's entries and unpacked bytes as its headers come, against its caps. */
export class ArchiveLimitsCounter {
  private entries = 0;
  private bytes = 0;

  constructor(private readonly limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS) {}

  /** Counts one entry of `size` bytes; throws `ArchiveLimitError` once a cap is passed. */
  count(size: number): void {
    if (++this.entries > this.limits.maxEntries) throw new ArchiveLimitError('entries', this.limits.maxEntries);
    this.bytes += size;
    if (this.bytes > this.limits.maxUnpackedBytes) throw new ArchiveLimitError('unpacked-bytes', this.limits.maxUnpackedBytes);
  }
}
