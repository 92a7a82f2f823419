import type { Readable } from 'node:stream';
import type { Principal } from '@infrabox/auth';
import type { Response } from 'express';

/**
 * Sends a stored archive (a job output, a build source) to a peer: its size and sha256 in
 * headers, 206 with Content-Range for a `range` (inclusive-exclusive), else 200.
 */
export function sendArchive(
  res: Response,
  archive: { size: number; sha256: string },
  stream: Readable,
  range: { start: number; end: number } | undefined,
): void {
  res.setHeader('content-type', 'application/x-tar');
  res.setHeader('x-infrabox-sha256', archive.sha256);
  res.setHeader('x-infrabox-size', String(archive.size));
  res.setHeader('accept-ranges', 'bytes');
  if (range) {
    res.status(206);
    res.setHeader('content-range', `bytes ${range.start}-${Math.max(range.start, range.end) - 1}/${archive.size}`);
    res.setHeader('content-length', String(Math.max(0, range.end - range.start)));
  } else {
    res.setHeader('content-length', String(archive.size));
  }
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/**
 * A push that has not arrived whole (cut, or a question of how much is here): 308 with
 * `Range: bytes=0-<last>` of the bytes held (none: no Range), as resumable uploads answer.
 */
export function answerIncomplete(res: Response, received: number): { received: number } {
  res.status(308);
  if (received > 0) res.setHeader('range', `bytes=0-${received - 1}`);
  return { received };
}

/** The pushing cluster of a route only cluster tokens reach. */
export function peerOf(principal: Principal): string {
  if (principal.kind !== 'cluster') throw new Error(`a peer route was reached with a ${principal.kind} token`);
  return principal.cluster;
}
