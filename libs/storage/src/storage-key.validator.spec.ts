import { InvalidStorageKeyError } from './storage.errors';
import { MAX_KEY_BYTES, assertValidKey, assertValidPrefix } from './storage-key.validator';

function rejection(check: () => void): InvalidStorageKeyError {
  try {
    check();
  } catch (error) {
    if (error instanceof InvalidStorageKeyError) return error;
    throw error;
  }
  throw new Error('expected an InvalidStorageKeyError');
}

describe('assertValidKey', () => {
  it.each([
    'a',
    'outputs/123/output.tar',
    'a b/c+d%20e#f?g',
    'ünïcödé/鍵/😀',
    '...',
    'a/..b/c..',
    '.hidden/x',
    'x'.repeat(MAX_KEY_BYTES),
  ])('accepts %j', (key) => {
    expect(() => assertValidKey(key)).not.toThrow();
  });

  it.each([
    ['', 'must not be empty'],
    ['/etc/passwd', 'must not start with "/"'],
    ['..', 'must not contain ".." segments'],
    ['a/../b', 'must not contain ".." segments'],
    ['a/..', 'must not contain ".." segments'],
    ['./a', 'must not contain "." segments'],
    ['a//b', 'must not contain empty segments'],
    ['a/', 'must not contain empty segments'],
    ['a\\b', 'must not contain backslashes'],
    ['..\\..\\x', 'must not contain backslashes'],
    ['a\u0000b', 'must not contain NUL'],
    ['a\rb', 'must not contain control characters'],
    ['a\u007fb', 'must not contain control characters'],
    ['a\ud800b', 'must be valid Unicode'],
    ['x'.repeat(MAX_KEY_BYTES + 1), 'must be at most 1024 bytes in UTF-8'],
    ['€'.repeat(342), 'must be at most 1024 bytes in UTF-8'], // 1026 bytes in 342 characters
  ])('rejects %j: %s', (key, reason) => {
    const error = rejection(() => assertValidKey(key));

    expect(error).toMatchObject({ key, reason: expect.stringContaining(reason) });
    expect(error.message).toContain(reason);
    expect(error.message).toContain(JSON.stringify(key.length > 200 ? key.slice(0, 197) : key).slice(0, -1));
  });

  it('rejects a key that is not a string', () => {
    expect(rejection(() => assertValidKey(42 as unknown as string)).reason).toBe('must be a string');
  });
});

describe('assertValidPrefix', () => {
  it.each(['a', 'a/', 'a/b', 'a/..b', 'a/..', 'a/.'])('accepts %j (its last segment is partial)', (prefix) => {
    expect(() => assertValidPrefix(prefix, { allowEmpty: false })).not.toThrow();
  });

  it('accepts the empty prefix only where allowed', () => {
    expect(() => assertValidPrefix('', { allowEmpty: true })).not.toThrow();
    expect(rejection(() => assertValidPrefix('', { allowEmpty: false })).reason).toContain('must not be empty');
  });

  it.each([
    ['/a', 'must not start with "/"'],
    ['../a', 'must not contain ".." segments'],
    ['a//', 'must not contain empty segments'],
    ['a\\', 'must not contain backslashes'],
    ['a\u0000', 'must not contain NUL'],
  ])('rejects %j: %s', (prefix, reason) => {
    expect(rejection(() => assertValidPrefix(prefix, { allowEmpty: true }))).toMatchObject({ key: prefix, reason: expect.stringContaining(reason) });
  });
});
