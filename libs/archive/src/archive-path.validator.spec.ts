import { UnsafeArchiveEntryError } from './archive.errors';
import { entryPathSegments, hardlinkTargetSegments, symlinkTargetSegments } from './archive-path.validator';

function refusal(check: () => unknown): string {
  try {
    check();
  } catch (error) {
    if (error instanceof UnsafeArchiveEntryError) return error.message;
    throw error;
  }
  throw new Error('expected an UnsafeArchiveEntryError');
}

describe('entryPathSegments', () => {
  it.each([
    ['a', ['a']],
    ['a/b/c.txt', ['a', 'b', 'c.txt']],
    ['dir/', ['dir']],
    ['./a//b/./c', ['a', 'b', 'c']],
    ['a/../b', ['b']],
    ['a/b/../../c', ['c']],
    ['./', []],
    ['.', []],
    ['..a/b..', ['..a', 'b..']],
    ['ünïcödé/名前', ['ünïcödé', '名前']],
    ['back\\slash', ['back\\slash']],
  ])('accepts %j as %j', (name, segments) => {
    expect(entryPathSegments(name)).toEqual(segments);
  });

  it.each([
    ['/etc/passwd', "entry '/etc/passwd': path is absolute"],
    ['//double', "entry '//double': path is absolute"],
    ['..', "entry '..': path leaves the destination"],
    ['../escape', "entry '../escape': path leaves the destination"],
    ['a/../../escape', "entry 'a/../../escape': path leaves the destination"],
    ['./..', "entry './..': path leaves the destination"],
    ['a\0b', "entry 'a\\0b': name contains a NUL byte"],
    ['', "entry '': empty name"],
    // Found by the bad-input sweep: names the unpacker handed to the file system as they came.
    ['n\ufffd.txt', "entry 'n\ufffd.txt': name is not valid UTF-8"],
    ['n'.repeat(256), `entry '${'n'.repeat(197)}...': name is too long (a path segment over 255 bytes)`],
    ['d/'.repeat(2048) + 'x', `entry '${'d/'.repeat(98)}d...': name is too long (over 4095 bytes)`],
  ])('refuses %j', (name, message) => {
    expect(refusal(() => entryPathSegments(name))).toBe(message);
  });

  it('shows control characters escaped in messages', () => {
    expect(refusal(() => entryPathSegments("../it's\n\x1b"))).toBe("entry '../it\\'s\\n\\x1b': path leaves the destination");
  });
});

describe('symlinkTargetSegments (from the link folder)', () => {
  it.each([
    [['link'], 'target', ['target']],
    [['a', 'b', 'link'], '../c', ['a', 'c']],
    [['a', 'link'], '..', []],
    [['link'], '.', []],
    [['a', 'link'], './x/../y', ['a', 'y']],
  ])('accepts a link at %j to %j', (link, target, segments) => {
    expect(symlinkTargetSegments(link.join('/'), link, target)).toEqual(segments);
  });

  it.each([
    [['link'], '/etc', "entry 'link': symlink target '/etc' is absolute"],
    [['link'], '..', "entry 'link': symlink target '..' leaves the destination"],
    [['a', 'link'], '../../x', "entry 'a/link': symlink target '../../x' leaves the destination"],
    [['a', 'link'], 'b/../../../x', "entry 'a/link': symlink target 'b/../../../x' leaves the destination"],
    [['link'], '', "entry 'link': symlink has an empty target"],
    [['link'], 'a\0b', "entry 'link': symlink target contains a NUL byte"],
    [['link'], 'x'.repeat(300), "entry 'link': symlink target is too long (a path segment over 255 bytes)"],
    [['link'], '\ufffd', "entry 'link': symlink target is not valid UTF-8"],
  ])('refuses a link at %j to %j', (link, target, message) => {
    expect(refusal(() => symlinkTargetSegments(link.join('/'), link, target))).toBe(message);
  });
});

describe('hardlinkTargetSegments (from the archive root)', () => {
  it('resolves from the root, not from the link folder', () => {
    expect(hardlinkTargetSegments('deep/dir/link', 'top/file')).toEqual(['top', 'file']);
  });

  it.each([
    ['/etc/passwd', "entry 'h': hardlink target '/etc/passwd' is absolute"],
    ['../x', "entry 'h': hardlink target '../x' leaves the destination"],
    ['.', "entry 'h': hardlink target '.' is not a regular file"],
    ['', "entry 'h': hardlink has an empty target"],
  ])('refuses %j', (target, message) => {
    expect(refusal(() => hardlinkTargetSegments('h', target))).toBe(message);
  });
});
