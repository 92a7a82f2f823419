import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { LocalStorage, StorageError } from '@infrabox/storage';
import { readAll } from '../support/storage';

/* What only the local backend has to get right: the file system under it. */

describe('LocalStorage', () => {
  let root: string;
  let storage: LocalStorage;
  const put = (key: string, text: string) => storage.put(key, Readable.from([Buffer.from(text)]));

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'infrabox-local-storage-'));
    storage = new LocalStorage(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps objects under objects/ and nothing in incoming/ once puts are done', async () => {
    await put('a/b/c.txt', 'c');

    expect(await readdir(path.join(root, 'objects', 'a', 'b'))).toEqual(['c.txt']);
    expect(await readdir(path.join(root, 'incoming'))).toEqual([]);
  });

  it('leaves nothing in incoming/ when the body fails before the temporary file is open', async () => {
    const failing = () => new Readable({ read() { this.destroy(new Error('upload refused')); } });
    for (let i = 0; i < 20; i++) await expect(storage.put(`refused/${i}`, failing())).rejects.toThrow('upload refused');

    expect(await readdir(path.join(root, 'incoming'))).toEqual([]);
  });

  it('refuses a key that is a prefix of other keys, or lies under another object, with a clear error', async () => {
    await put('dir/file', 'x');
    await put('plain', 'y');

    await expect(put('dir', 'z')).rejects.toThrow(StorageError);
    await expect(put('dir', 'z')).rejects.toThrow('is a prefix of other keys');
    await expect(put('plain/below', 'z')).rejects.toThrow('lies under another object');
    expect(await readdir(path.join(root, 'incoming'))).toEqual([]);
    await expect(storage.head('plain/below')).resolves.toBeNull();
    await expect(storage.get('plain/below')).rejects.toThrow('no object');
  });

  it('removes directories left empty by delete, up to the root', async () => {
    await put('x/y/z/object', 'o');
    await put('x/keep', 'k');

    await storage.delete('x/y/z/object');

    expect(await readdir(path.join(root, 'objects', 'x'))).toEqual(['keep']);
    await storage.deletePrefix('x/');
    expect(await readdir(path.join(root, 'objects'))).toEqual([]);
  });

  it('lets a reader that opened an object finish it while the object is replaced and deleted', async () => {
    const old = Buffer.alloc(1024 * 1024, 1);
    await storage.put('object', Readable.from([old]));
    const reading = await storage.get('object');

    await put('object', 'replacement');
    await storage.delete('object');

    expect((await readAll(reading)).equals(old)).toBe(true); // (toEqual walks a 1 MiB buffer byte by byte: seconds)
  });
});
