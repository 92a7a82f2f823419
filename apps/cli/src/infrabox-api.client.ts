import { Readable, Transform } from 'node:stream';
import { HEADERS } from '@infrabox/contract';
import { HttpClient, HttpFailure, type HttpRequestInit } from '@infrabox/toolkit';
import { CliError } from './cli-error';

export interface ApiResponse {
  status: number;
  /** Parsed JSON body, or the raw text when the body is not JSON; undefined when empty. */
  body: unknown;
}

const REQUEST_TIMEOUT_MS = 15_000;

/**
 * The CLI's side of the InfraBox API, over the shared HttpClient (@infrabox/toolkit). Network
 * failures become a CliError with one line that says what to do; HTTP error statuses are
 * returned, for the caller to name (404 → "not found") or to pass to `failure()`.
 */
export class InfraboxApiClient {
  private readonly http: HttpClient;

  constructor(
    readonly baseUrl: string,
    token?: string,
  ) {
    this.http = new HttpClient(baseUrl, token);
  }

  /** Whether requests carry a bearer token. */
  get hasToken(): boolean {
    return this.http.hasToken;
  }

  /** A request with an optional JSON body. */
  async request(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, json?: unknown): Promise<ApiResponse> {
    return answerOf(await this.send(path, { method, headers: { accept: 'application/json' }, json, timeoutMs: REQUEST_TIMEOUT_MS }));
  }

  /**
   * Opens a server-sent event stream (`GET path`, no overall timeout; the answer's headers must
   * come within the request timeout). A status other than 200 is returned with its parsed body.
   */
  async openStream(path: string, lastEventId?: string): Promise<{ status: number; body: unknown; stream?: AsyncIterable<Uint8Array> }> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (lastEventId !== undefined) headers[HEADERS.lastEventId] = lastEventId;
    const response = await this.send(path, { headers, headersTimeoutMs: REQUEST_TIMEOUT_MS });
    if (response.status !== 200 || response.body === null) return answerOf(response);
    return { status: 200, body: undefined, stream: response.body as unknown as AsyncIterable<Uint8Array> };
  }

  /**
   * PUTs `size` bytes of `body` (streamed, no overall timeout: a large source takes its time),
   * calling `onProgress` with the bytes sent so far.
   */
  async upload(path: string, body: Readable, size: number, contentType: string, onProgress: (bytes: number) => void): Promise<ApiResponse> {
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
    const headers = { accept: 'application/json', 'content-type': contentType, 'content-length': String(size) };
    return answerOf(await this.send(path, { method: 'PUT', headers, body: counted }));
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

  private async send(path: string, init: HttpRequestInit): Promise<Response> {
    try {
      return await this.http.send(path, init);
    } catch (error) {
      if (!(error instanceof HttpFailure)) throw error;
      throw new CliError(this.describeNetworkError(error));
    }
  }

  private describeNetworkError(failure: HttpFailure): string {
    if (failure.timedOut) return `the InfraBox API at ${this.baseUrl} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
    if (failure.codes.includes('ECONNREFUSED')) return `cannot reach the InfraBox API at ${this.baseUrl} (is it running? start it with: npm start)`;
    return `cannot reach the InfraBox API at ${this.baseUrl}: ${failure.message}`;
  }
}

async function answerOf(response: Response): Promise<ApiResponse> {
  const text = await response.text().catch(() => '');
  return { status: response.status, body: parseBody(text) };
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
