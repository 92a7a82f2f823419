import type { Readable } from 'node:stream';
import { HttpException, PayloadTooLargeException, UnprocessableEntityException } from '@nestjs/common';
import { ArchiveLimitError, type ArchiveLimits, DEFAULT_ARCHIVE_LIMITS, TarChecker } from '@infrabox/archive';
import type { InstallConfig } from '@infrabox/config';

/** Largest tar the api takes in one request (a build source, a job output). */
export const MAX_UPLOAD_BYTES = 4 * 1024 ** 3;

export interface ReceivedTar {
  /** The request body, checked as it passes (see `TarChecker`); give it to the storage. */
  readonly stream: Readable;
  /** Why the body was refused (413 over a size or archive cap, 422 naming the entry), once the storage put has failed. */
  problem(): HttpException | undefined;
}

/**
 * A tar request body on its way into storage: checked entry by entry and counted, so a hostile or
 * truncated archive, or one over `MAX_UPLOAD_BYTES`, makes the storage put fail (and store
 * nothing); the rest of a refused body is drained, so the caller still reads the answer.
 */
export function receiveTar(body: Readable, what: string, limits: ArchiveLimits, maxBytes = MAX_UPLOAD_BYTES): ReceivedTar {
  const checker = new TarChecker(limits);
  let tooLarge: PayloadTooLargeException | undefined;
  let received = 0;
  const count = (chunk: Buffer) => {
    received += chunk.length;
    if (received > maxBytes && !tooLarge) {
      tooLarge = new PayloadTooLargeException(`${what}: more than the limit of ${maxBytes} bytes`);
      checker.destroy(tooLarge);
    }
  };
  body.on('data', count);
  body.on('error', (error) => checker.destroy(error));
  checker.on('close', () => {
    body.off('data', count);
    if (!body.readableEnded) {
      body.unpipe(checker);
      body.resume();
    }
  });
  body.pipe(checker);
  return {
    stream: checker,
    problem: () => {
      if (tooLarge) return tooLarge;
      if (checker.failure instanceof ArchiveLimitError) return new PayloadTooLargeException(`${what}: ${checker.failure.message}`);
      return checker.failure ? new UnprocessableEntityException(`${what}: ${checker.failure.message}`) : undefined;
    },
  };
}

/** The caps of an uploaded archive: the config's `archives:`, else the archive library's. */
export function archiveLimitsOf(config: InstallConfig): ArchiveLimits {
  return { ...DEFAULT_ARCHIVE_LIMITS, ...config.archives };
}

/** A Content-Length over the limit is refused before a byte is read. */
export function assertUploadSize(contentLength: number | undefined, what: string, maxBytes = MAX_UPLOAD_BYTES): void {
  if (contentLength !== undefined && contentLength > maxBytes) {
    throw new PayloadTooLargeException(`${what}: ${contentLength} bytes is more than the limit of ${maxBytes} bytes`);
  }
}
