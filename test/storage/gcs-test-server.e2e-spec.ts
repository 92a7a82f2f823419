import { CRC32C, Storage } from '@google-cloud/storage';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GcsStorage } from '@infrabox/storage/gcs.storage';
import { type GcsTestServer, startGcsTestServer } from '../support/gcs-test-server';
import { TestProcess } from '../support/processes';
import { readAll } from '../support/storage';

/*
 * The GCS test server's own requests beyond what the storage contract exercises, driven only through
 * @google-cloud/storage: chunked resumable uploads (308 + Range), simple (multipart) uploads, object
 * metadata, listing with a delimiter, error shapes, and running as a separate process.
 */

describe('GCS test server', () => {
  let server: GcsTestServer;
  let client: Storage;
  const bucketName = 'server-spec';

  beforeAll(async () => {
    server = await startGcsTestServer();
    client = new Storage({ apiEndpoint: server.url, projectId: 'infrabox-test' });
    await client.createBucket(bucketName);
  });

  afterAll(async () => {
    await server?.close();
  });

  it('answers object metadata with size as a string, md5Hash and crc32c in base64', async () => {
    const data = randomBytes(4321);
    const file = client.bucket(bucketName).file('meta/object');
    await file.save(data, { resumable: false }); // a multipart/related upload

    const [metadata] = await file.getMetadata();

    const crc = new CRC32C();
    crc.update(data);
    expect(metadata).toMatchObject({
      name: 'meta/object',
      bucket: bucketName,
      size: '4321',
      md5Hash: createHash('md5').update(data).digest('base64'),
      crc32c: crc.toString(),
    });
    expect((await file.download())[0].equals(data)).toBe(true);
  });

  it('takes a resumable upload in chunks, answering 308 with the received Range in between', async () => {
    const data = randomBytes(3 * 256 * 1024 + 1000);
    const file = client.bucket(bucketName).file('chunked/object');
    const ranges: string[] = [];
    const sink = file.createWriteStream({ resumable: true, chunkSize: 256 * 1024, validation: 'crc32c' });
    sink.on('response', (response: { status?: number; headers?: Record<string, string> }) => {
      ranges.push(`${response.status} ${response.headers?.range ?? ''}`.trim());
    });

    await pipeline(Readable.from([data]), sink);

    expect((await file.download())[0].equals(data)).toBe(true);
    const [metadata] = await file.getMetadata();
    expect(metadata.size).toBe(String(data.length));
    // One request per 256 KiB chunk before the last; each answered 308 with what the server holds.
    expect(ranges.slice(0, 3)).toEqual(['308 bytes=0-262143', '308 bytes=0-524287', '308 bytes=0-786431']);
  });

  it('lists with a delimiter: objects at the level, and the prefixes below it', async () => {
    const bucket = client.bucket(bucketName);
    for (const name of ['tree/a', 'tree/b/1', 'tree/b/2', 'tree/c/1', 'tree/d']) await bucket.file(name).save(name, { resumable: false });

    const [files, , response] = await bucket.getFiles({ prefix: 'tree/', delimiter: '/', autoPaginate: false });

    expect(files.map((file) => file.name)).toEqual(['tree/a', 'tree/d']);
    expect((response as { prefixes?: string[] }).prefixes).toEqual(['tree/b/', 'tree/c/']);
  });

  it('pages a listing with maxResults and pageToken', async () => {
    const bucket = client.bucket(bucketName);
    for (let i = 0; i < 5; i++) await bucket.file(`paged/${i}`).save(String(i), { resumable: false });

    const pages: string[][] = [];
    let query: { pageToken?: string } | null = {};
    while (query !== null) {
      const [files, next]: [Array<{ name: string }>, object | null, unknown] = await bucket.getFiles({
        ...query,
        prefix: 'paged/',
        maxResults: 2,
        autoPaginate: false,
      });
      pages.push(files.map((file) => file.name));
      query = next as { pageToken?: string } | null;
    }

    expect(pages).toEqual([['paged/0', 'paged/1'], ['paged/2', 'paged/3'], ['paged/4']]);
  });

  it('answers errors as { error: { code, message } }, which the client turns into ApiErrors', async () => {
    await expect(client.bucket(bucketName).file('no/such/object').getMetadata()).rejects.toMatchObject({
      code: 404,
      message: expect.stringContaining('No such object'),
    });
    await expect(client.bucket('no-such-bucket').getMetadata()).rejects.toMatchObject({ code: 404 });
    await expect(client.createBucket(bucketName)).rejects.toMatchObject({ code: 409 });
    await expect(client.bucket(bucketName).file('no/such/object').delete()).rejects.toMatchObject({ code: 404 });
  });

  it('runs as a separate process that prints its URL', async () => {
    const child = new TestProcess('test/support/gcs-test-server.js', []);
    try {
      await child.waitFor((lines) => lines.length > 0, 20_000, 'the URL line');
      const url = child.lines[0];
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      await new Storage({ apiEndpoint: url, projectId: 'infrabox-test' }).createBucket('separate');
      const storage = new GcsStorage({ kind: 'gcs', bucket: 'separate', apiEndpoint: url, projectId: 'infrabox-test' });
      await storage.put('hello.txt', Readable.from([Buffer.from('from another process')]));
      expect((await readAll(await storage.get('hello.txt'))).toString()).toBe('from another process');
    } finally {
      child.kill();
    }
    await expect(child.exited).resolves.toBe(0);
  });
});
