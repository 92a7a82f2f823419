import type { Readable } from 'node:stream';
import { UnprocessableEntityException } from '@nestjs/common';
import { ObjectStorage, PutResult, StorageError } from '@infrabox/storage';

/**
 * Stores an archive pushed by a peer (a job output, a build source) at `key` and checks it
 * against what was recorded where it came from. Bytes of another size or sha256 are deleted
 * (or never land) and answered with 422; the caller records nothing then.
 */
export async function storeVerified(
  storage: ObjectStorage,
  key: string,
  body: Readable,
  expected: { size: number; sha256: string; what: string },
): Promise<PutResult> {
  let stored: PutResult;
  try {
    stored = await storage.put(key, body, { contentLength: expected.size });
  } catch (error) {
    // The size check of the put (longer or shorter than recorded): nothing was stored.
    if (error instanceof StorageError) throw new UnprocessableEntityException(`${expected.what}: ${error.message} (recorded: ${expected.size} bytes)`);
    throw error;
  }
  if (stored.size !== expected.size || stored.sha256 !== expected.sha256) {
    await storage.delete(key);
    throw new UnprocessableEntityException(
      `${expected.what}: sha256 ${stored.sha256} (${stored.size} bytes) does not match the recorded ${expected.sha256} (${expected.size} bytes)`,
    );
  }
  return stored;
}
