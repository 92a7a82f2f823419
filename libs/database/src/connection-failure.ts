/** Socket-level failures: the server (or the network to it) went away mid-conversation. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
/** SQLSTATEs of a server that is going or gone: admin/crash shutdown, not yet accepting. */
const SHUTDOWN_STATES = new Set(['57P01', '57P02', '57P03']);
/** What pg says when the connection ended or broke before or during a statement. */
const PG_MESSAGES = [/^Connection terminated/, /is not queryable/, /timeout exceeded when trying to connect/];

/**
 * True when `error` says the database could not be reached or dropped the connection — a fault
 * of the moment, not of the statement: the same work may succeed once the server is back.
 */
export function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || SHUTDOWN_STATES.has(code) || code.startsWith('08'))) return true;
  return PG_MESSAGES.some((pattern) => pattern.test(error.message));
}
