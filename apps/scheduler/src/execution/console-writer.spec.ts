import { ConsoleWriter, NUL_SIGN } from './console-writer';

describe('ConsoleWriter', () => {
  const collect = (options: ConstructorParameters<typeof ConsoleWriter>[1] = {}) => {
    const chunks: string[] = [];
    const writer = new ConsoleWriter(async (text) => {
      chunks.push(text);
    }, { intervalMs: 5, ...options });
    return { chunks, writer };
  };

  it('hands on what was written in order, in chunks', async () => {
    const { chunks, writer } = collect({ maxChunkBytes: 8 });
    for (const part of ['one\n', 'two\n', 'three\n']) writer.write(part);
    await writer.close();
    expect(chunks.join('')).toBe('one\ntwo\nthree\n');
    expect(chunks.length).toBeGreaterThan(1);
  });

  it('keeps NUL visible (PostgreSQL text cannot hold it) and the text around it', async () => {
    const { chunks, writer } = collect();
    writer.write('before\0after\0\n');
    await writer.close();
    expect(chunks.join('')).toBe(`before${NUL_SIGN}after${NUL_SIGN}\n`);
  });

  it('drops output past the cap after one line saying so, without splitting a character', async () => {
    const { chunks, writer } = collect({ capBytes: 10 });
    writer.write('12345678é9'); // é is 2 bytes: 8 + 2 = 10 bytes fit, '9' does not
    writer.write('more\n');
    await writer.close();
    expect(chunks.join('')).toBe('12345678é\n[console capped at 10 bytes: the rest of the output is dropped]\n');
    const { chunks: split, writer: splitting } = collect({ capBytes: 9 });
    splitting.write('12345678é');
    await splitting.close();
    expect(split.join('')).toBe('12345678\n[console capped at 9 bytes: the rest of the output is dropped]\n');
  });

  it('reports a chunk it could not store, and goes on with the next', async () => {
    const failures: Array<[string, number]> = [];
    const stored: string[] = [];
    let calls = 0;
    const writer = new ConsoleWriter(
      async (text) => {
        if (calls++ === 0) throw new Error('connection lost');
        stored.push(text);
      },
      { intervalMs: 1_000, maxChunkBytes: 4, onFailedWrite: (error, bytes) => failures.push([(error as Error).message, bytes]) },
    );
    writer.write('lost');
    writer.write('kept');
    await writer.close();
    expect(failures).toEqual([['connection lost', 4]]);
    expect(stored).toEqual(['kept']);
  });
});
