/**
 * Tiny validating readers for untyped JSON values. Every problem is reported as
 * one line `<file>#<json path>: <reason>`; wording is ours on purpose.
 */

/**
 * Collects error lines of one file into `messages` (which may be shared with
 * other files); `prefix` is '' for the root file, else the include's path.
 */
export class Issues {
  private added = 0;

  constructor(
    private readonly prefix = '',
    readonly messages: string[] = [],
  ) {}

  add(path: string, reason: string): void {
    this.messages.push(`${this.prefix}${path}: ${reason}`);
    this.added++;
  }

  /** Number of problems reported through this collector. */
  get count(): number {
    return this.added;
  }
}

/** Reads `value` at `path`; returns undefined (after reporting to `issues`) when invalid. */
export type Reader<T> = (value: unknown, path: string, issues: Issues) => T | undefined;

const PLAIN_KEY = /^[A-Za-z0-9_$-]+$/;

/** Longest name or key quoted in a message as it is; longer ones are cut (a message stays one short line). */
export const MAX_SHOWN_NAME = 60;

/** `text`, cut to `MAX_SHOWN_NAME` characters with `...` when longer. */
export function shortened(text: string): string {
  return text.length > MAX_SHOWN_NAME ? `${text.slice(0, MAX_SHOWN_NAME - 3)}...` : text;
}

/** Path of property `key` below `path` (`#` + `jobs` → `#jobs`, odd or very long keys as `["a b"]`, cut). */
export function propertyPath(path: string, key: string): string {
  // Length first: a regular expression over a 10 MB key can overflow the stack.
  if (key.length > MAX_SHOWN_NAME || !PLAIN_KEY.test(key)) return `${path}[${JSON.stringify(shortened(key))}]`;
  return path === '#' ? `#${key}` : `${path}.${key}`;
}

export function indexPath(path: string, index: number): string {
  return `${path}[${index}]`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Short rendering of a value for "got ..." messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string': {
      const json = JSON.stringify(value);
      return json.length > 60 ? `${json.slice(0, 56)}..."` : json;
    }
    case 'number':
    case 'boolean':
      return String(value);
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

export function expected(what: string, value: unknown): string {
  return `expected ${what}, got ${describeValue(value)}`;
}

export const text: Reader<string> = (value, path, issues) => {
  if (typeof value === 'string') return value;
  issues.add(path, expected('a string', value));
  return undefined;
};

export const nonEmptyText: Reader<string> = (value, path, issues) => {
  const result = text(value, path, issues);
  if (result === '') {
    issues.add(path, 'must not be empty');
    return undefined;
  }
  return result;
};

export const boolean: Reader<boolean> = (value, path, issues) => {
  if (typeof value === 'boolean') return value;
  issues.add(path, expected('a boolean', value));
  return undefined;
};

/**
 * A safe integer of at least `min` (and at most `max.value` when given); `why`, when given, says
 * whose minimum it is, and `max.why` what the maximum is, in the message.
 */
export function integer(min: number, why?: string, max?: { value: number; why: string }): Reader<number> {
  return (value, path, issues) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      issues.add(path, expected('an integer', value));
      return undefined;
    }
    if (value < min) {
      issues.add(path, `must be at least ${min}${why === undefined ? '' : ` (${why})`}, got ${value}`);
      return undefined;
    }
    if (max !== undefined && value > max.value) {
      issues.add(path, `must be at most ${max.value} (${max.why}), got ${value}`);
      return undefined;
    }
    return value;
  };
}

/** A finite number above `floor`; `why` says whose floor it is, in the message. */
export function numberAbove(floor: number, why: string): Reader<number> {
  return (value, path, issues) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      issues.add(path, expected('a number', value));
      return undefined;
    }
    if (value <= floor) {
      issues.add(path, `must be greater than ${floor} (${why}), got ${value}`);
      return undefined;
    }
    return value;
  };
}

/** A value as a message names it: strings in single quotes (`'banana'`, escaped, cut), others as `describeValue`. */
export function quoted(value: unknown): string {
  return typeof value === 'string' ? `'${JSON.stringify(shortened(value)).slice(1, -1)}'` : describeValue(value);
}

export function oneOf<T extends string>(values: readonly T[]): Reader<T> {
  return (value, path, issues) => {
    if ((values as readonly unknown[]).includes(value)) return value as T;
    issues.add(path, `${quoted(value)} is not one of ${values.join(', ')}`);
    return undefined;
  };
}

export function arrayOf<T>(item: Reader<T>, options: { nonEmpty?: boolean } = {}): Reader<T[]> {
  return (value, path, issues) => {
    if (!Array.isArray(value)) {
      issues.add(path, expected('an array', value));
      return undefined;
    }
    if (options.nonEmpty && value.length === 0) {
      issues.add(path, 'must not be empty');
      return undefined;
    }
    const before = issues.count;
    const result = value.map((element, index) => item(element, indexPath(path, index), issues));
    return issues.count === before ? (result as T[]) : undefined;
  };
}

/** An object used as a map; `checkKey` returns a reason when a key is not acceptable. */
export function recordOf<T>(item: Reader<T>, checkKey?: (key: string) => string | undefined): Reader<Record<string, T>> {
  return (value, path, issues) => {
    if (!isPlainObject(value)) {
      issues.add(path, expected('an object', value));
      return undefined;
    }
    const before = issues.count;
    const entries: Array<[string, T | undefined]> = Object.keys(value).map((key) => {
      const keyPath = propertyPath(path, key);
      const keyProblem = checkKey?.(key);
      if (keyProblem !== undefined) issues.add(keyPath, keyProblem);
      return [key, item(value[key], keyPath, issues)];
    });
    // fromEntries defines own properties, so a "__proto__" key stays harmless.
    return issues.count === before ? (Object.fromEntries(entries) as Record<string, T>) : undefined;
  };
}

export function map<A, B>(read: Reader<A>, convert: (value: A) => B): Reader<B> {
  return (value, path, issues) => {
    const result = read(value, path, issues);
    return result === undefined ? undefined : convert(result);
  };
}

export interface Field<T, R extends boolean> {
  readonly read: Reader<T>;
  readonly required: R;
}

export const required = <T>(read: Reader<T>): Field<T, true> => ({ read, required: true });
export const optional = <T>(read: Reader<T>): Field<T, false> => ({ read, required: false });

export type FieldSpec = Record<string, Field<unknown, boolean>>;
type FieldValue<F> = F extends Field<infer T, boolean> ? T : never;
type RequiredKeys<S extends FieldSpec> = { [K in keyof S]: S[K] extends Field<unknown, true> ? K : never }[keyof S];
type OptionalKeys<S extends FieldSpec> = Exclude<keyof S, RequiredKeys<S>>;

export type ObjectOf<S extends FieldSpec> = { [K in RequiredKeys<S>]: FieldValue<S[K]> } & {
  [K in OptionalKeys<S>]?: FieldValue<S[K]>;
};

/**
 * A closed object: properties outside `spec` are reported as `unknown property`,
 * absent required ones as `required`. Problems are reported in document order,
 * missing properties last.
 */
export function object<S extends FieldSpec>(spec: S): Reader<ObjectOf<S>> {
  return (value, path, issues) => {
    if (!isPlainObject(value)) {
      issues.add(path, expected('an object', value));
      return undefined;
    }
    const before = issues.count;
    const result: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const keyPath = propertyPath(path, key);
      if (!Object.hasOwn(spec, key)) {
        issues.add(keyPath, 'unknown property');
        continue;
      }
      const read = spec[key]?.read(value[key], keyPath, issues);
      if (read !== undefined) result[key] = read;
    }
    for (const [key, field] of Object.entries(spec)) {
      if (field.required && !Object.hasOwn(value, key)) issues.add(propertyPath(path, key), 'required');
    }
    return issues.count === before ? (result as ObjectOf<S>) : undefined;
  };
}
