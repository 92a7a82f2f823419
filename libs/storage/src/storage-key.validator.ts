import { InvalidStorageKeyError } from './storage.errors';

/** Longest key in UTF-8 bytes (S3's and GCS's limit). */
export const MAX_KEY_BYTES = 1024;

// C0 controls and DEL: NUL breaks file systems, CR/LF are refused by GCS, and S3's XML listings cannot
// carry most of the others.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function characterProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'must not contain NUL';
  if (CONTROL_CHARACTER.test(value)) return 'must not contain control characters';
  if (value.includes('\\')) return 'must not contain backslashes';
  if (LONE_SURROGATE.test(value)) return 'must be valid Unicode (it contains a lone surrogate)';
  if (Buffer.byteLength(value, 'utf8') > MAX_KEY_BYTES) return `must be at most ${MAX_KEY_BYTES} bytes in UTF-8`;
  if (value.startsWith('/')) return 'must not start with "/"';
  return undefined;
}

function segmentProblem(segment: string): string | undefined {
  if (segment === '') return 'must not contain empty segments ("//" or a trailing "/")';
  if (segment === '..') return 'must not contain ".." segments';
  if (segment === '.') return 'must not contain "." segments';
  return undefined;
}

/**
 * Checks an object key: non-empty, at most 1024 UTF-8 bytes, no leading "/", no empty, "." or ".."
 * segments, no backslash, NUL or other control characters, valid Unicode. The same rules hold on every
 * backend, so a key that works locally works on S3 and GCS too.
 * @throws InvalidStorageKeyError naming the key and the broken rule
 */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string') throw new InvalidStorageKeyError(String(key), 'must be a string');
  if (key === '') throw new InvalidStorageKeyError(key, 'must not be empty');
  const problem = characterProblem(key) ?? key.split('/').map(segmentProblem).find((p) => p !== undefined);
  if (problem !== undefined) throw new InvalidStorageKeyError(key, problem);
}

/**
 * Checks a prefix for `list`/`deletePrefix`: the key rules, except that it may be empty (when
 * `allowEmpty`) and its last segment is a partial name ("a/b" matches "a/b/c" and "a/bc"), so it may end
 * with "/" and its last segment is not checked.
 */
export function assertValidPrefix(prefix: string, { allowEmpty }: { allowEmpty: boolean }): void {
  if (typeof prefix !== 'string') throw new InvalidStorageKeyError(String(prefix), 'prefix must be a string');
  if (prefix === '') {
    if (allowEmpty) return;
    throw new InvalidStorageKeyError(prefix, 'prefix must not be empty here (it would match every object)');
  }
  const segments = prefix.split('/').slice(0, -1);
  const problem = characterProblem(prefix) ?? segments.map(segmentProblem).find((p) => p !== undefined);
  if (problem !== undefined) throw new InvalidStorageKeyError(prefix, problem);
}
