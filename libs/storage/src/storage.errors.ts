/** Base class of the errors the storage library raises itself (backend errors pass through). */
export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** `get` of a key that holds no object. `head` answers `null` instead. */
export class StorageNotFoundError extends StorageError {
  constructor(readonly key: string) {
    super(`no object at storage key ${describeKey(key)}`);
  }
}

/** A key (or prefix) that breaks the key rules; raised before any backend is contacted. */
export class InvalidStorageKeyError extends StorageError {
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`invalid storage key ${describeKey(key)}: ${reason}`);
  }
}

/** Renders a key for messages: JSON-quoted (so NUL and control characters show), long keys shortened. */
export function describeKey(key: string): string {
  return JSON.stringify(key.length > 200 ? `${key.slice(0, 197)}...` : key);
}
