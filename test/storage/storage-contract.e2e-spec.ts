import { CreateBucketCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { Storage } from '@google-cloud/storage';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { InvalidStorageKeyError, LocalStorage, type ListedObject, type ObjectStorage, StorageError, StorageNotFoundError } from '@infrabox/storage';
import { GcsStorage } from '@infrabox/storage/gcs.storage';
import { S3Storage } from '@infrabox/storage/s3.storage';
import { startGcsTestServer } from '../support/gcs-test-server';
import {
  GeneratedContent,
  digestStream,
  forEachLimited,
  leastMemoryGrowth,
  readAll,
  realGcsBucket,
  s3TestEndpoint,
  sha256,
} from '../support/storage';

/*
 * One contract, every backend: the local directory, S3 (fauxqs, started by the jest global setup),
 * GCS (our JSON-API test server) and, when GCS_TEST_BUCKET is set, real GCS.
 */

const MiB = 1024 * 1024;

interface Harness {
  readonly storage: ObjectStorage;
  /** RSS growth allowed while one 256 MiB object streams in or out. */
  readonly memoryBudget: number;
  /** Backend-level evidence that the failed put of `key` left nothing behind; answers how many abandoned uploads it checked. */
  assertNoLeftovers(key: string): Promise<number>;
  close(): Promise<void>;
}

interface Target {
  readonly name: string;
  open(): Promise<Harness>;
}

const local: Target = {
  name: 'local',
  async open() {
    const root = await mkdtemp(path.join(tmpdir(), 'infrabox-storage-'));
    return {
      storage: new LocalStorage(root),
      memoryBudget: 64 * MiB,
      async assertNoLeftovers() {
        expect(await readdir(path.join(root, 'incoming'))).toEqual([]); // the temporary file is gone
        return 1;
      },
      close: () => rm(root, { recursive: true, force: true }),
    };
  },
};

const s3: Target = {
  name: 's3',
  async open() {
    const endpoint = s3TestEndpoint();
    const bucket = `contract-${randomBytes(4).toString('hex')}`;
    const client = new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    // Observe (not alter) the commands the backend sends, to check multipart uploads get aborted.
    // Only names are kept: holding on to `input` would keep every part's 8 MiB body alive.
    const sent: Array<{ command: string; key: unknown; uploadId: unknown }> = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const input = args.input as { Key?: unknown; UploadId?: unknown };
        const output = result.output as { UploadId?: unknown };
        sent.push({ command: String(context.commandName), key: input.Key, uploadId: input.UploadId ?? output.UploadId });
        return result;
      },
      { step: 'initialize', name: 'recordCommands' },
    );
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const storage = new S3Storage({ kind: 's3', bucket, region: 'us-east-1', endpoint, forcePathStyle: true }, { client });
    return {
      storage,
      // lib-storage's working set: queueSize (2) parts in flight, the chunks of the part being filled,
      // their concatenation, and the previous concatenation (its tail is a view on it): 5 × 8 MiB,
      // plus finished parts V8 has not collected yet (up to 65 MiB of RSS seen under load). That is
      // well below the 256 MiB object the bound is checked on.
      memoryBudget: 96 * MiB,
      async assertNoLeftovers(key) {
        const uploads = sent
          .filter((entry) => entry.command === 'CreateMultipartUploadCommand' && entry.key === key)
          .map((entry) => String(entry.uploadId));
        for (const uploadId of uploads) {
          const completed = sent.some((e) => e.command === 'CompleteMultipartUploadCommand' && e.uploadId === uploadId);
          if (completed) continue;
          expect(sent.some((e) => e.command === 'AbortMultipartUploadCommand' && e.uploadId === uploadId)).toBe(true);
          // The server no longer knows the upload: its parts are gone.
          await expect(
            client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: 9, Body: 'x' })),
          ).rejects.toMatchObject({ name: 'NoSuchUpload' });
        }
        return uploads.length;
      },
      close: () => storage.close(),
    };
  },
};

const gcsTestServer: Target = {
  name: 'gcs (test server)',
  async open() {
    const server = await startGcsTestServer();
    const bucket = `contract-${randomBytes(4).toString('hex')}`;
    await new Storage({ apiEndpoint: server.url, projectId: 'infrabox-test' }).createBucket(bucket);
    const storage = new GcsStorage({ kind: 'gcs', bucket, apiEndpoint: server.url, projectId: 'infrabox-test' });
    return {
      storage,
      memoryBudget: 64 * MiB,
      assertNoLeftovers: async () => 0, // nothing more than "no object" is observable through the client
      async close() {
        await storage.close();
        await server.close();
      },
    };
  },
};

const realGcs = realGcsBucket();
const gcsReal: Target = {
  name: 'gcs (real, GCS_TEST_BUCKET)',
  async open() {
    const storage = new GcsStorage({ kind: 'gcs', ...realGcs! });
    return { storage, memoryBudget: 64 * MiB, assertNoLeftovers: async () => 0, close: () => storage.close() };
  },
};

const targets: Target[] = [local, s3, gcsTestServer, ...(realGcs === undefined ? [] : [gcsReal])];

async function collect(iterable: AsyncIterable<ListedObject>): Promise<ListedObject[]> {
  const items: ListedObject[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

describe.each(targets)('ObjectStorage contract: $name', (target) => {
  // Every key of a run lives under its own prefix, removed at the end (real GCS is shared).
  const run = `contract-${randomBytes(4).toString('hex')}/`;
  let harness: Harness;
  let storage: ObjectStorage;
  const report = (line: string) => process.stdout.write(`[${target.name}] ${line}\n`);

  beforeAll(async () => {
    harness = await target.open();
    storage = harness.storage;
  });

  afterAll(async () => {
    if (harness === undefined) return;
    await storage.deletePrefix(run);
    await harness.close();
  });

  it('puts and gets an object byte for byte, answering its size and sha256', async () => {
    const key = `${run}small/object.bin`;
    const data = Buffer.concat([Buffer.from('hello, infrabox\n'.repeat(100)), randomBytes(1000)]);

    await expect(storage.put(key, Readable.from([data]))).resolves.toEqual({ size: data.length, sha256: sha256(data) });

    expect(await readAll(await storage.get(key))).toEqual(data);
    await expect(storage.head(key)).resolves.toEqual({ size: data.length });
  });

  it('stores a 0-byte object', async () => {
    const key = `${run}empty/nothing`;

    await expect(storage.put(key, Readable.from([]), { contentLength: 0 })).resolves.toEqual({ size: 0, sha256: sha256('') });

    await expect(storage.head(key)).resolves.toEqual({ size: 0 });
    expect((await readAll(await storage.get(key))).length).toBe(0);
    expect((await readAll(await storage.get(key, { start: 0 }))).length).toBe(0);
    await expect(collect(storage.list(`${run}empty/`))).resolves.toEqual([{ key, size: 0 }]);
  });

  it('stores and reads back a 50 MiB object, streamed', async () => {
    const key = `${run}big/50mib.bin`;
    const content = new GeneratedContent(50 * MiB);
    const expected = { size: content.size, sha256: content.sha256() };

    await expect(storage.put(key, content.stream())).resolves.toEqual(expected);
    await expect(digestStream(await storage.get(key))).resolves.toEqual(expected);
    await expect(storage.head(key)).resolves.toEqual({ size: content.size });
    await storage.delete(key);
  });

  /**
   * Memory is bounded on a 256 MiB object: a store that held it would grow by 256 MiB, far past
   * the budget, on every run. At 50 MiB the same bound sat within the noise of the jest process's
   * RSS late in a full run (+40 MiB seen for a put that streams, on all of 3 tries).
   */
  it('streams a 256 MiB object in and out with memory bounded well below its size', async () => {
    const key = `${run}big/256mib.bin`;
    const content = new GeneratedContent(256 * MiB);
    const expected = { size: content.size, sha256: content.sha256() };

    const upload = await leastMemoryGrowth(harness.memoryBudget, () => storage.put(key, content.stream()));
    const download = await leastMemoryGrowth(harness.memoryBudget, async () => digestStream(await storage.get(key)));

    expect(upload.result).toEqual(expected);
    expect(download.result).toEqual(expected);
    expect(upload.rss).toBeLessThan(harness.memoryBudget);
    expect(download.rss).toBeLessThan(harness.memoryBudget);
    report(`256 MiB put: RSS +${mib(upload.rss)}, buffers +${mib(upload.buffers)} (${upload.attempts} run(s)); get: RSS +${mib(download.rss)}, buffers +${mib(download.buffers)} (${download.attempts} run(s))`);
    await storage.delete(key);
  }, 120_000);

  it('reads byte ranges: start inclusive, end exclusive, clamped to the object', async () => {
    const key = `${run}ranges/data`;
    const data = randomBytes(1000);
    await storage.put(key, Readable.from([data]));
    const read = async (range: { start: number; end?: number }) => readAll(await storage.get(key, range));

    expect(await read({ start: 0, end: 10 })).toEqual(data.subarray(0, 10));
    expect(await read({ start: 100, end: 200 })).toEqual(data.subarray(100, 200));
    expect(await read({ start: 990 })).toEqual(data.subarray(990));
    expect(await read({ start: 995, end: 5000 })).toEqual(data.subarray(995));
    expect(await read({ start: 0 })).toEqual(data);
    expect((await read({ start: 10, end: 10 })).length).toBe(0);
    expect((await read({ start: 1000 })).length).toBe(0);
    expect((await read({ start: 5000, end: 6000 })).length).toBe(0);

    await expect(storage.get(key, { start: -1 })).rejects.toThrow(RangeError);
    await expect(storage.get(key, { start: 10, end: 5 })).rejects.toThrow(RangeError);
    await expect(storage.get(`${run}ranges/missing`, { start: 0, end: 10 })).rejects.toBeInstanceOf(StorageNotFoundError);
    await expect(storage.get(`${run}ranges/missing`, { start: 3, end: 3 })).rejects.toBeInstanceOf(StorageNotFoundError);
  });

  it('answers head with the size, or null when there is no object', async () => {
    const key = `${run}head/present`;
    await storage.put(key, Readable.from([Buffer.from('12345')]));

    await expect(storage.head(key)).resolves.toEqual({ size: 5 });
    await expect(storage.head(`${run}head/absent`)).resolves.toBeNull();
    await expect(storage.head(`${run}head`)).resolves.toBeNull(); // a prefix is not an object
  });

  it('rejects get of a missing key with StorageNotFoundError naming the key', async () => {
    const key = `${run}missing/key`;

    const error = await storage.get(key).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(StorageNotFoundError);
    expect(error).toMatchObject({ key, message: expect.stringContaining(key) });
  });

  it('handles keys with spaces, reserved URL characters, Unicode and the full 1024 bytes', async () => {
    const stem = `${run}odd/${`${'s'.repeat(199)}/`.repeat(5)}`;
    const keys = [`${run}odd/a b+c%20d#e?f=g&h;i,j@k'l"m`, `${run}odd/ünïcödé/ключ/鍵`, stem + 'e'.repeat(1024 - stem.length)];
    expect(Buffer.byteLength(keys[2])).toBe(1024);

    for (const [index, key] of keys.entries()) {
      await storage.put(key, Readable.from([Buffer.from(`object ${index}`)]));
      expect((await readAll(await storage.get(key))).toString()).toBe(`object ${index}`);
    }
    const listed = await collect(storage.list(`${run}odd/`));
    expect(listed.map((item) => item.key)).toEqual([...keys].sort(byteOrder));
  });

  it('rejects invalid keys with InvalidStorageKeyError naming the key and the reason', async () => {
    const invalid: Array<[string, string]> = [
      ['', 'must not be empty'],
      ['/absolute', 'must not start with "/"'],
      ['a/../b', '".." segments'],
      ['..', '".." segments'],
      ['a/./b', '"." segments'],
      ['a//b', 'empty segments'],
      ['a/', 'empty segments'],
      ['a\\b', 'backslashes'],
      ['a\u0000b', 'NUL'],
      ['a\nb', 'control characters'],
      ['x'.repeat(1025), 'at most 1024 bytes'],
      ['é'.repeat(513), 'at most 1024 bytes'],
    ];
    for (const [key, reason] of invalid) {
      const attempts = [
        storage.put(key, Readable.from([Buffer.from('x')])),
        storage.get(key),
        storage.head(key),
        storage.delete(key),
      ];
      for (const attempt of attempts) {
        await expect(attempt).rejects.toThrow(InvalidStorageKeyError);
        await expect(attempt).rejects.toMatchObject({ key, reason: expect.stringContaining(reason) });
      }
    }
    const body = Readable.from([Buffer.from('x')]);
    await expect(storage.put('../escape', body)).rejects.toThrow(InvalidStorageKeyError);
    expect(body.destroyed).toBe(true); // a put owns its source, even when it refuses the key
    await expect(collect(storage.list('/etc'))).rejects.toThrow(InvalidStorageKeyError);
    await expect(collect(storage.list('a/../'))).rejects.toThrow('".." segments');
    await expect(storage.deletePrefix('')).rejects.toThrow(InvalidStorageKeyError);
  });

  describe('with 1050 objects under a prefix', () => {
    const prefix = `${run}many/`;
    const keys = Array.from({ length: 1050 }, (_, i) => `${prefix}k${String(i).padStart(4, '0')}`);
    const outside = [`${run}many-sibling`, `${run}manx/k0000`];

    beforeAll(async () => {
      await forEachLimited([...keys, ...outside], 16, (key) => storage.put(key, Readable.from([Buffer.from(key.slice(-3))])));
    });

    it('lists them all across pages, in key order, with sizes', async () => {
      const listed = await collect(storage.list(prefix));

      expect(listed).toHaveLength(1050);
      expect(listed).toEqual(keys.map((key) => ({ key, size: 3 })));
      await expect(collect(storage.list(`${prefix}k00`))).resolves.toEqual(keys.slice(0, 100).map((key) => ({ key, size: 3 })));
      await expect(collect(storage.list(`${run}nothing-here/`))).resolves.toEqual([]);
    });

    it('deletePrefix removes every one of them and nothing else', async () => {
      await storage.deletePrefix(prefix);

      await expect(collect(storage.list(prefix))).resolves.toEqual([]);
      await expect(storage.head(keys[0])).resolves.toBeNull();
      const survivors = await collect(storage.list(`${run}man`));
      expect(survivors.map((item) => item.key)).toEqual(outside.sort(byteOrder));
    });
  });

  it('deletes an object; deleting a missing one is not an error', async () => {
    const key = `${run}delete/me`;
    await storage.put(key, Readable.from([Buffer.from('bye')]));

    await storage.delete(key);

    await expect(storage.head(key)).resolves.toBeNull();
    await expect(storage.get(key)).rejects.toBeInstanceOf(StorageNotFoundError);
    await expect(storage.delete(key)).resolves.toBeUndefined();
    await expect(storage.delete(`${run}delete/never-was`)).resolves.toBeUndefined();
  });

  it('ends concurrent puts of one key with exactly one of them, complete', async () => {
    const key = `${run}race/object`;
    const contents = [1, 2, 3].map(() => new GeneratedContent(12 * MiB));
    const hashes = contents.map((content) => content.sha256());

    const results = await Promise.all(contents.map((content) => storage.put(key, content.stream())));

    expect(results.map((r) => r.sha256)).toEqual(hashes);
    const stored = await digestStream(await storage.get(key));
    expect(stored.size).toBe(12 * MiB);
    expect(hashes).toContain(stored.sha256);
    await expect(collect(storage.list(`${run}race/`))).resolves.toEqual([{ key, size: 12 * MiB }]);
  });

  it('leaves no object when the source stream fails halfway', async () => {
    const key = `${run}failed/object`;
    const content = new GeneratedContent(20 * MiB);

    await expect(storage.put(key, content.stream({ failAfter: 10 * MiB + 12345, error: new Error('disk on fire') }))).rejects.toThrow(
      'disk on fire',
    );

    await expect(storage.head(key)).resolves.toBeNull();
    await expect(storage.get(key)).rejects.toBeInstanceOf(StorageNotFoundError);
    await expect(collect(storage.list(`${run}failed/`))).resolves.toEqual([]);
    const abandoned = await harness.assertNoLeftovers(key);
    if (target.name === 's3') expect(abandoned).toBeGreaterThan(0); // it had gone multipart, and was aborted
  });

  it('keeps the previous object when a replacing put fails', async () => {
    const key = `${run}failed/replaced`;
    await storage.put(key, Readable.from([Buffer.from('version 1')]));

    await expect(storage.put(key, new GeneratedContent(MiB).stream({ failAfter: 1000 }))).rejects.toThrow('source broke');

    expect((await readAll(await storage.get(key))).toString()).toBe('version 1');
  });

  it('fails a put whose source does not match contentLength, leaving no object', async () => {
    const short = `${run}length/short`;
    const long = `${run}length/long`;

    await expect(storage.put(short, Readable.from([randomBytes(100)]), { contentLength: 200 })).rejects.toThrow(StorageError);
    await expect(storage.put(long, Readable.from([randomBytes(100)]), { contentLength: 50 })).rejects.toThrow(StorageError);

    await expect(storage.head(short)).resolves.toBeNull();
    await expect(storage.head(long)).resolves.toBeNull();
    await expect(storage.put(`${run}length/exact`, Readable.from([randomBytes(100)]), { contentLength: 100 })).resolves.toMatchObject({
      size: 100,
    });
  });

  it('reports progress as running totals that end at the size', async () => {
    const key = `${run}progress/object`;
    const content = new GeneratedContent(3 * MiB + 17);
    const seen: number[] = [];

    const result = await storage.put(key, content.stream(), { contentLength: content.size, onProgress: (bytes) => seen.push(bytes) });

    expect(result.size).toBe(content.size);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.every((bytes, i) => i === 0 || bytes >= seen[i - 1])).toBe(true);
    expect(seen[seen.length - 1]).toBe(content.size);
  });
});
