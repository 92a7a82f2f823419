import { DEFAULT_ARCHIVE_LIMITS } from '@infrabox/archive';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { PayloadTooLargeException, UnprocessableEntityException } from '@nestjs/common';
import { LocalStorage } from '@infrabox/storage';
import { craftTar, streamOf } from '../../../../test/support/archive';
import { receiveTar } from './received-tar';

/** receiveTar into a real (local) storage: a refused body stores nothing and says why. */
describe('receiveTar', () => {
  let root: string;
  let storage: LocalStorage;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'infrabox-received-tar-'));
    storage = new LocalStorage(root);
  });

  afterEach(async () => {
    await storage.close();
    await rm(root, { recursive: true, force: true });
  });

  const stored = async () => {
    const keys: string[] = [];
    for await (const object of storage.list('')) keys.push(object.key);
    return keys;
  };

  it('stores a well-formed tar as it came', async () => {
    const tar = await craftTar([{ name: 'src/main.c', content: 'int main() {}' }]);
    const received = receiveTar(streamOf(tar, 300), 'source', DEFAULT_ARCHIVE_LIMITS);
    const result = await storage.put('upload/a/source.tar', received.stream);
    expect(result.size).toBe(tar.length);
    expect(received.problem()).toBeUndefined();
    expect(await stored()).toEqual(['upload/a/source.tar']);
  });

  // Found by the bad-input sweep: PUT .../source and PUT .../output stored these as they came.
  it.each([
    ['an entry that climbs out', [{ name: '../../etc/cron.d/x', content: 'x' }], "source: entry '../../etc/cron.d/x': path leaves the destination"],
    ['a device', [{ name: 'dev', type: 'block-device' as const }], "source: entry 'dev': device files are not allowed (block-device)"],
  ])('refuses %s with 422 naming the entry, and stores nothing', async (_, entries, message) => {
    const body = streamOf(await craftTar([{ name: 'ok', content: 'x'.repeat(10_000) }, ...entries]), 512);
    const received = receiveTar(body, 'source', DEFAULT_ARCHIVE_LIMITS);
    await expect(storage.put('upload/b/source.tar', received.stream)).rejects.toThrow();
    const problem = received.problem();
    expect(problem).toBeInstanceOf(UnprocessableEntityException);
    expect(problem?.message).toBe(message);
    expect(await stored()).toEqual([]);
  });

  it('refuses a truncated tar', async () => {
    const tar = await craftTar([{ name: 'a', content: 'x'.repeat(4000) }]);
    const received = receiveTar(streamOf(tar.subarray(0, 2000)), 'output', DEFAULT_ARCHIVE_LIMITS);
    await expect(storage.put('output/x/output.tar', received.stream)).rejects.toThrow();
    expect(received.problem()?.message).toMatch(/^output: the tar stream is truncated|^output: not a valid tar stream/);
    expect(await stored()).toEqual([]);
  });

  it('refuses a body over the limit with 413, and drains the rest of it', async () => {
    const tar = await craftTar([{ name: 'big', content: 'x'.repeat(100_000) }]);
    const body = Readable.from([tar.subarray(0, 50_000), tar.subarray(50_000)]);
    const received = receiveTar(body, 'source', DEFAULT_ARCHIVE_LIMITS, 60_000);
    await expect(storage.put('upload/c/source.tar', received.stream)).rejects.toThrow();
    expect(received.problem()).toBeInstanceOf(PayloadTooLargeException);
    expect(received.problem()?.message).toBe('source: more than the limit of 60000 bytes');
    if (!body.readableEnded) await new Promise((resolve) => body.once('end', resolve));
    expect(body.readableEnded).toBe(true);
    expect(await stored()).toEqual([]);
  });

  it.each([
    ['entries', { maxEntries: 3, maxUnpackedBytes: 1_000_000 }, 'source: the archive has more than 3 entries (the cap of an archive)'],
    ['unpacked bytes', { maxEntries: 100, maxUnpackedBytes: 5_000 }, 'source: the archive unpacks to more than 5000 bytes (the cap of an archive)'],
  ])('refuses an archive over its cap of %s with 413 naming the cap, and stores nothing', async (_, limits, message) => {
    const entries = Array.from({ length: 4 }, (_, i) => ({ name: `f${i}`, content: 'x'.repeat(2_000) }));
    const received = receiveTar(streamOf(await craftTar(entries), 700), 'source', limits);
    await expect(storage.put('upload/d/source.tar', received.stream)).rejects.toThrow();
    expect(received.problem()).toBeInstanceOf(PayloadTooLargeException);
    expect(received.problem()?.message).toBe(message);
    expect(await stored()).toEqual([]);
  });
});
