/** A tar archive is read in 512-byte blocks and ends with two zero blocks. */
export const BLOCK = 512;
export const END_MARKER = Buffer.alloc(2 * BLOCK);

/** Bytes an entry's data takes in the archive: its size rounded up to whole blocks. */
export function roundUp(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/** The last 1024 bytes of everything read so far, given the previous tail and the next chunk. */
export function keepTail(tail: Buffer, chunk: Buffer): Buffer {
  const keep = END_MARKER.length;
  if (chunk.length >= keep) return Buffer.from(chunk.subarray(chunk.length - keep));
  const joined = Buffer.concat([tail, chunk]);
  return joined.length > keep ? joined.subarray(joined.length - keep) : joined;
}
