/** Fields shown after the message, in this order, when a line carries them. */
const SHOWN_FIELDS = ['jobId', 'buildId', 'pattern', 'eventId', 'reqId'] as const;

interface JsonLogLine {
  level?: unknown;
  time?: unknown;
  context?: unknown;
  msg?: unknown;
  err?: { stack?: unknown; message?: unknown };
  [field: string]: unknown;
}

/**
 * Turns one JSON log line of an app into the readable form `infrabox up` shows:
 * `11:02:03 INFO  [placement] message  jobId=… pattern=…`, an error's stack on the lines after.
 * `app` and `cluster` are left out (the prefix names them). Anything that is not a JSON log
 * line (PostgreSQL's output, a crash's stack trace) is returned as it came.
 */
export function formatLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let entry: JsonLogLine;
  try {
    entry = JSON.parse(line) as JsonLogLine;
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null || typeof entry.level !== 'string' || !('msg' in entry)) return line;
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 19) : '';
  const context = typeof entry.context === 'string' && entry.context !== '' ? `[${entry.context}] ` : '';
  const fields = SHOWN_FIELDS.filter((name) => entry[name] !== undefined).map((name) => `${name}=${String(entry[name])}`);
  const text = `${time} ${entry.level.toUpperCase().padEnd(5)} ${context}${String(entry.msg)}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}`;
  const stack = typeof entry.err?.stack === 'string' ? entry.err.stack : undefined;
  return stack ? `${text}\n${stack}` : text;
}
