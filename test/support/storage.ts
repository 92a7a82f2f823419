import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/*
 * Helpers for the storage tests: deterministic generated content (so a 50 MiB object never exists in
 * memory), stream digests, memory sampling, and the environment the storage tests read.
 */

const BLOCK = 64 * 1024;

/** The `index`th 64 KiB block of the content named `seed`: a random block per seed, stamped with the index. */
function block(base: Buffer, index: number): Buffer {
  const chunk = Buffer.from(base);
  chunk.writeUInt32BE(index, 0);
  chunk.writeUInt32BE(index ^ 0x5a5a5a5a, chunk.length - 4);
  return chunk;
}

/** A content of `size` bytes generated block by block; `stream()` can be called any number of times. */
export class GeneratedContent {
  private readonly base: Buffer;

  constructor(readonly size: number) {
    this.base = randomBytes(BLOCK);
  }

  /**
   * A fresh stream of the content. With `failAfter`, the stream errors once that many bytes have
   * been produced, like a source whose disk or connection breaks.
   */
  stream(options: { failAfter?: number; error?: Error } = {}): Readable {
    const { size, base } = this;
    const { failAfter, error = new Error('source broke') } = options;
    async function* generate() {
      let produced = 0;
      for (let index = 0; produced < size; index++) {
        const chunk = block(base, index).subarray(0, Math.min(BLOCK, size - produced));
        if (failAfter !== undefined && produced + chunk.length > failAfter) {
          if (failAfter > produced) yield chunk.subarray(0, failAfter - produced);
          await new Promise((resolve) => setTimeout(resolve, 20)); // let the first bytes travel
          throw error;
        }
        produced += chunk.length;
        yield chunk;
      }
    }
    return Readable.from(generate(), { objectMode: false });
  }

  /** SHA-256 of the content, computed by generating it again. */
  sha256(): string {
    const hash = createHash('sha256');
    let produced = 0;
    for (let index = 0; produced < this.size; index++) {
      const chunk = block(this.base, index).subarray(0, Math.min(BLOCK, this.size - produced));
      hash.update(chunk);
      produced += chunk.length;
    }
    return hash.digest('hex');
  }
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Size and SHA-256 of a stream, read in constant memory. */
export async function digestStream(stream: Readable): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

let gcFunction: (() => void) | undefined;

/** V8's full garbage collection, exposed at run time (jest runs without --expose-gc). */
export function collectGarbage(): void {
  if (gcFunction === undefined) {
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as () => void;
  }
  gcFunction();
}

/**
 * Runs `work` while sampling memory every 5 ms; answers the peak growth over the moment before it, in
 * bytes, of the RSS and of the memory held in buffers (`arrayBuffers`). V8 frees dead buffers lazily
 * (a fresh process streaming 50 MiB to S3 grew by some 55 MiB of finished parts), so garbage is
 * collected before the baseline and every 250 ms. RSS can understate: memory freed by earlier tests
 * is reused without growing it. `buffers` overstates: it counts up to 250 ms of dead chunks, tens of
 * MiB for a fast backend; it is reported, not bounded.
 */
export async function peakMemoryGrowth<T>(work: () => Promise<T>): Promise<{ result: T; rss: number; buffers: number }> {
  collectGarbage();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakBuffers = before.arrayBuffers;
  const sample = () => {
    const now = process.memoryUsage();
    peakRss = Math.max(peakRss, now.rss);
    peakBuffers = Math.max(peakBuffers, now.arrayBuffers);
  };
  const sampler = setInterval(sample, 5);
  const collector = setInterval(collectGarbage, 250);
  try {
    const result = await work();
    sample();
    return { result, rss: peakRss - before.rss, buffers: peakBuffers - before.arrayBuffers };
  } finally {
    clearInterval(sampler);
    clearInterval(collector);
  }
}

/** Runs `task` over `items` with at most `limit` at a time. */
export async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await task(items[next++]);
  });
  await Promise.all(workers);
}

/** The S3 endpoint the jest global setup started (fauxqs). */
export function s3TestEndpoint(): string {
  const endpoint = process.env.INFRABOX_TEST_S3_ENDPOINT;
  if (!endpoint) throw new Error('INFRABOX_TEST_S3_ENDPOINT is not set: run the tests through jest (test/support/global-setup.mjs)');
  return endpoint;
}

/**
 * The real GCS bucket to run the storage contract against, when `GCS_TEST_BUCKET` is set. Credentials
 * come from `GOOGLE_APPLICATION_CREDENTIALS` (read by the Google client itself); `GCS_TEST_PROJECT`
 * optionally names the project.
 */
export function realGcsBucket(): { bucket: string; projectId?: string } | undefined {
  const bucket = process.env.GCS_TEST_BUCKET;
  if (!bucket) return undefined;
  const projectId = process.env.GCS_TEST_PROJECT || undefined;
  return projectId === undefined ? { bucket } : { bucket, projectId };
}

/**
 * The least peak growth of `work` over up to `attempts` runs, stopping at the first under `budget`.
 * One run's RSS also moves with whatever else the process does meanwhile (V8 growing its heap,
 * a timer of an earlier test): seen once in 3 full runs under Node 24, +24 MiB for a 50 MiB put
 * that streams. A store that holds the object in memory grows past the budget on every run.
 */
export async function leastMemoryGrowth<T>(
  budget: number,
  work: () => Promise<T>,
  attempts = 3,
): Promise<{ result: T; rss: number; buffers: number; attempts: number }> {
  let least: { result: T; rss: number; buffers: number } | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const measured = await peakMemoryGrowth(work);
    if (least === undefined || measured.rss < least.rss) least = measured;
    if (least.rss < budget) return { ...least, attempts: attempt };
  }
  return { ...least!, attempts };
}
