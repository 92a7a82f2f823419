import { AsyncLocalStorage } from 'node:async_hooks';

/** Fields every log line written inside the current async context carries (jobId, eventId, …). */
export type LogFields = Readonly<Record<string, string | number>>;

const storage = new AsyncLocalStorage<LogFields>();

/**
 * Runs `work` with `fields` added to the log context; fields already set stay unless overridden,
 * so a transfer of job A started while handling job B's event logs jobId A.
 */
export function withLogFields<T>(fields: LogFields, work: () => T): T {
  return storage.run({ ...storage.getStore(), ...fields }, work);
}

/** The log context here (empty outside any); pino's mixin adds it to each line. */
export function currentLogFields(): LogFields {
  return storage.getStore() ?? {};
}
