import { Readable, Transform } from 'node:stream';
import { CliError } from './cli-error';

export interface ApiResponse {
  status: number;
  /** Parsed JSON body, or the raw text when the body is not JSON; undefined when empty. */
  body: unknown;
}

const REQUEST_TIMEOUT_MS = 15_000;

/**
 * A thin HTTP client for the InfraBox API. Network failures become a CliError with one line
 * that says what to do; HTTP error statuses are returned, for the caller to name (404 → "not
 * found") or to pass to `failure()`.
 */
export class InfraboxApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  /** Whether requests carry a bearer token. */
  get hasToken(): boolean {
    return this.token !== undefined;
  }

  /** A request with an optional JSON body. */
  async request(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, json?: unknown): Promise<ApiResponse> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    if (json !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: json === undefined ? undefined : JSON.stringify(json),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new CliError(this.describeNetworkError(error));
    }
    const text = await response.text().catch(() => '');
    return { status: response.status, body: parseBody(text) };
  }

  /**
   * Opens a server-sent event stream (`GET path`, no overall timeout; the answer's headers must
   * come within the request timeout). A status other than 200 is returned with its parsed body.
   */
  async openStream(path: string, lastEventId?: string): Promise<{ status: number; body: unknown; stream?: AsyncIterable<Uint8Array> }> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new DOMException('no answer', 'TimeoutError')), REQUEST_TIMEOUT_MS);
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, { headers, signal: abort.signal });
    } catch (error) {
      throw new CliError(this.describeNetworkError(error));
    } finally {
      clearTimeout(timer);
    }
    if (response.status !== 200 || response.body === null) {
      const text = await response.text().catch(() => '');
      return { status: response.status, body: parseBody(text) };
    }
    return { status: 200, body: undefined, stream: response.body as unknown as AsyncIterable<Uint8Array> };
  }

  /**
   * PUTs `size` bytes of `body` (streamed, no overall timeout: a large source takes its time),
   * calling `onProgress` with the bytes sent so far.
   */
  async upload(path: string, body: Readable, size: number, contentType: string, onProgress: (bytes: number) => void): Promise<ApiResponse> {
    const headers: Record<string, string> = { accept: 'application/json', 'content-type': contentType, 'content-length': String(size) };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    let sent = 0;
    const counted = body.pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          sent += chunk.length;
          onProgress(sent);
          callback(null, chunk);
        },
      }),
    );
    body.on('error', (error) => counted.destroy(error));
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method: 'PUT',
        headers,
        body: Readable.toWeb(counted) as ReadableStream,
        duplex: 'half',
      } as RequestInit);
    } catch (error) {
      counted.destroy();
      throw new CliError(this.describeNetworkError(error));
    }
    const text = await response.text().catch(() => '');
    return { status: response.status, body: parseBody(text) };
  }

  /**
   * What is shown for an unexpected HTTP status: one line, or, when the answer lists its reasons
   * (`errors`, as for a refused infrabox.json), that line and then one line per reason.
   */
  failure(method: string, path: string, response: ApiResponse): CliError {
    const head = `the InfraBox API answered ${method} ${path} with HTTP ${response.status}`;
    const reasons = errorReasons(response.body);
    if (reasons.length > 0) return new CliError([`${head}:`, ...reasons].join('\n'));
    const detail = errorMessage(response.body);
    return new CliError(`${head}${detail ? `: ${detail}` : ''}`);
  }

  private describeNetworkError(error: unknown): string {
    if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
      return `the InfraBox API at ${this.baseUrl} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
    }
    const codes = errorCodes(error);
    if (codes.includes('ECONNREFUSED')) {
      return `cannot reach the InfraBox API at ${this.baseUrl} (is it running? start it with: npm start)`;
    }
    const reason = codes[0] ?? (error instanceof Error ? error.message : String(error));
    return `cannot reach the InfraBox API at ${this.baseUrl}: ${reason}`;
  }
}

/** Error codes of a fetch failure: undici wraps them in `cause`, sometimes as an AggregateError. */
function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (typeof value !== 'object' || value === null || depth > 4) return;
    const { code, cause, errors } = value as { code?: unknown; cause?: unknown; errors?: unknown };
    if (typeof code === 'string') codes.push(code);
    visit(cause, depth + 1);
    if (Array.isArray(errors)) for (const inner of errors) visit(inner, depth + 1);
  };
  visit(error, 0);
  return codes;
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `message` of a Nest error body (a string or a list of strings), plus its error id if any. */
export function errorMessage(body: unknown): string {
  if (typeof body === 'string') return body.split('\n')[0]!.slice(0, 200);
  if (typeof body !== 'object' || body === null) return '';
  const { message, errorId } = body as { message?: unknown; errorId?: unknown };
  const text = Array.isArray(message) ? message.map(String).join('; ') : typeof message === 'string' ? message : '';
  return typeof errorId === 'string' ? `${text} (error id ${errorId})` : text;
}

/** The `errors` lines of an error body (each `#path: reason`), when it has them. */
function errorReasons(body: unknown): string[] {
  const errors = typeof body === 'object' && body !== null ? (body as { errors?: unknown }).errors : undefined;
  return Array.isArray(errors) ? errors.filter((line): line is string => typeof line === 'string') : [];
}
