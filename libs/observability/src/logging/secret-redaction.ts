/*
 * What never goes into a log line: bearer tokens (Authorization headers, `?token=` of download
 * links), Basic credentials and cookies. Applied to every HTTP request the logger serializes and
 * to every message string.
 */

export const REDACTED = '[redacted]';

const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-registry-auth']);
const SECRET_QUERY = new Set(['token', 'access_token']);

/** `text` with the values of `token=` and `access_token=` parameters and of Bearer/Basic credentials replaced. */
export function redactSecrets(text: string): string {
  return text
    .replace(/([?&;](?:access_)?token=)[^&\s"'#]*/gi, `$1${REDACTED}`)
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, `$1 ${REDACTED}`);
}

export interface SerializedRequest {
  url?: unknown;
  query?: unknown;
  headers?: unknown;
  [field: string]: unknown;
}

/** A request as pino-http serialized it, without its secrets (a plain copy: the original is left alone). */
export function redactRequest(req: SerializedRequest): SerializedRequest {
  const copy: SerializedRequest = {};
  for (const key of ['id', 'method', 'url', 'query', 'params', 'headers', 'remoteAddress', 'remotePort']) {
    if (req[key] !== undefined) copy[key] = req[key];
  }
  if (typeof copy.url === 'string') copy.url = redactSecrets(copy.url);
  if (isRecord(copy.query)) copy.query = mapEntries(copy.query, (key, value) => (SECRET_QUERY.has(key.toLowerCase()) ? REDACTED : value));
  if (isRecord(copy.headers)) copy.headers = mapEntries(copy.headers, (key, value) => (SECRET_HEADERS.has(key.toLowerCase()) ? REDACTED : value));
  return copy;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mapEntries(record: Record<string, unknown>, map: (key: string, value: unknown) => unknown): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(key, value)]));
}
