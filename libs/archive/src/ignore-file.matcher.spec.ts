import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir, removeTempDir } from '../../../test/support/archive';
import { IGNORE_FILE_NAME, createIgnoreMatcher, loadIgnoreFile } from './ignore-file.matcher';

describe('createIgnoreMatcher (gitignore rules)', () => {
  // [rules, path, is a directory, ignored]. Every expectation here was checked against
  // `git check-ignore --no-index` with the path created on disk.
  const cases: [string, string, boolean, boolean][] = [
    ["# a comment\n\nfoo", "foo", false, true],
    ["*.log", "a.log", false, true],
    ["*.log", "deep/dir/a.log", false, true],
    ["*.log", "a.logx", false, false],
    ["/root.txt", "root.txt", false, true],
    ["/root.txt", "sub/root.txt", false, false],
    ["build/", "build", true, true],
    ["build/", "build", false, false],
    ["build/", "sub/build", true, true],
    ["doc/*.txt", "doc/a.txt", false, true],
    ["doc/*.txt", "doc/sub/a.txt", false, false],
    ["doc/*.txt", "other/doc/a.txt", false, false],
    ["doc/**/*.txt", "doc/a.txt", false, true],
    ["doc/**/*.txt", "doc/x/y/a.txt", false, true],
    ["**/cache", "cache", true, true],
    ["**/cache", "a/b/cache", true, true],
    ["a/**", "a/x/y", false, true],
    ["a/**", "a", true, false],
    ["?.txt", "a.txt", false, true],
    ["?.txt", "ab.txt", false, false],
    ["*.log\n!keep.log", "keep.log", false, false],
    ["*.log\n!keep.log", "other.log", false, true],
    ["!keep.log\n*.log", "keep.log", false, true],
    ["\\#hash", "#hash", false, true],
    ["\\!bang", "!bang", false, true],
    ["[abc].md", "b.md", false, true],
    ["[abc].md", "d.md", false, false],
    ["*.LOG", "a.log", false, false],
    ["name   ", "name", false, true],
    ["sub/name", "sub/name", false, true],
    ["sub/name", "x/sub/name", false, false],
    ["*", "anything", false, true],
    ["*\n!*/\n!*.ts", "src", true, false],
    ["*\n!*/\n!*.ts", "src/a.ts", false, false],
    ["*\n!*/\n!*.ts", "src/a.js", false, true],
    ["node_modules", "node_modules", true, true],
    ["node_modules", "pkg/node_modules", true, true],
    ["out/*\n!out/keep", "out/keep", false, false],
    ["out/*\n!out/keep", "out/drop", false, true],
  ];

  it.each(cases)('rules %j: %j (directory: %s) ignored: %s', (rules, relativePath, isDirectory, ignored) => {
    expect(createIgnoreMatcher(rules).ignores(relativePath, isDirectory)).toBe(ignored);
  });

  it.each([
    ['.git', true, true],
    ['sub/module/.git', false, true],
    ['.git/config', false, true],
    ['.gitignore', false, false],
    ['.github', true, false],
    ['a.git', true, false],
  ])('always ignores .git: %j (directory: %s) ignored: %s', (relativePath, isDirectory, ignored) => {
    expect(createIgnoreMatcher('').ignores(relativePath, isDirectory)).toBe(ignored);
    expect(createIgnoreMatcher('!.git\n!.git/\n!**/.git').ignores(relativePath, isDirectory)).toBe(ignored);
  });
});

describe('loadIgnoreFile', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await makeTempDir('ignore');
  });

  afterEach(async () => {
    await removeTempDir(dir);
  });

  it(`reads ${IGNORE_FILE_NAME} from the folder`, async () => {
    await writeFile(path.join(dir, IGNORE_FILE_NAME), '# build output\nnode_modules/\n*.log\n!important.log\n');

    const matcher = await loadIgnoreFile(dir);

    expect(matcher.ignores('node_modules', true)).toBe(true);
    expect(matcher.ignores('debug.log', false)).toBe(true);
    expect(matcher.ignores('important.log', false)).toBe(false);
    expect(matcher.ignores('src/main.ts', false)).toBe(false);
    expect(matcher.ignores('.git', true)).toBe(true);
  });

  it('ignores only .git when there is no ignore file', async () => {
    const matcher = await loadIgnoreFile(dir);

    expect(matcher.ignores('node_modules', true)).toBe(false);
    expect(matcher.ignores('.git', true)).toBe(true);
  });

  it('fails when the ignore file cannot be read', async () => {
    await mkdir(path.join(dir, IGNORE_FILE_NAME));

    await expect(loadIgnoreFile(dir)).rejects.toMatchObject({ code: 'EISDIR' });
  });
});

describe('loadIgnoreFile: the local run\'s state stays out', () => {
  it('leaves .infrabox/ out by default, and in again when the ignore file says !/.infrabox/', async () => {
    const dir = await makeTempDir('ignore-default');
    try {
      expect((await loadIgnoreFile(dir)).ignores('.infrabox', true)).toBe(true);
      expect((await loadIgnoreFile(dir)).ignores('sub/.infrabox', true)).toBe(false);
      await writeFile(path.join(dir, IGNORE_FILE_NAME), '*.log\n');
      expect((await loadIgnoreFile(dir)).ignores('.infrabox', true)).toBe(true);
      await writeFile(path.join(dir, IGNORE_FILE_NAME), '!/.infrabox/\n');
      expect((await loadIgnoreFile(dir)).ignores('.infrabox', true)).toBe(false);
    } finally {
      await removeTempDir(dir);
    }
  });
});
