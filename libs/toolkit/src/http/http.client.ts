import { Readable } from 'node:stream';
import { describeFetchFailure, fetchFailureCodes, isFetchTimeout } from './fetch-failure';
import { IdleWatch } from './idle-watch';

/** How much of an error answer's body is kept for a message. */
export const ERROR_BODY_LIMIT = 500;

export interface HttpRequestInit {
  method?: string;
  headers?: Readonly<Record<string, string>>;
  /** Sent as JSON (with its content type). */
  json?: unknown;
  /** A body sent as it is; a stream is streamed (and destroyed when the request fails). */
  body?: string | Buffer | Readable | ReadableStream<Uint8Array>;
  /** The whole exchange, the answer's body included, must be over within this. */
  timeoutMs?: number;
  /** Only the answer's headers must come within this; its body then takes its time (a stream, a download). */
  headersTimeoutMs?: number;
  /** Cut off once nothing moved for this long: no answer yet, no chunk of either body. */
  idleTimeoutMs?: number;
  redirect?: 'follow' | 'manual' | 'error';
}

/** A request that got no answer (refused, unresolvable, timed out, cut): `message` says why in a few words. */
export class HttpFailure extends Error {
  override readonly name = 'HttpFailure';
  /** The error codes of the failure (ECONNREFUSED, …), outermost first. */
  readonly codes: string[];
  readonly timedOut: boolean;

  constructor(
    readonly url: string,
    error: unknown,
    timeoutMs: number | undefined,
  ) {
    super(describeFetchFailure(error, timeoutMs), { cause: error });
    this.codes = fetchFailureCodes(error);
    this.timedOut = isFetchTimeout(error);
  }
}

/**
 * The one HTTP client of InfraBox's peers, CLI, in-pod agent and probes: requests to one base URL,
 * with a bearer token when it has one, timeouts (whole exchange, until the headers, or idle), and
 * network failures as an {@link HttpFailure}. HTTP error statuses are answers: the caller names them.
 */
export class HttpClient {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  /** Whether requests carry a bearer token. */
  get hasToken(): boolean {
    return this.token !== undefined;
  }

  /** Sends one request to `baseUrl + path`; throws an {@link HttpFailure} when no answer came. */
  async send(path: string, init: HttpRequestInit = {}): Promise<Response> {
    const url = `${this.baseUrl}${path}`;
    const headers: Record<string, string> = { ...init.headers };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    const source = init.body instanceof Readable ? init.body : undefined;
    const idle = init.idleTimeoutMs === undefined ? undefined : new IdleWatch(init.idleTimeoutMs, (ms) => new Error(`nothing moved for ${ms / 1000} s`));
    let body = init.json !== undefined ? JSON.stringify(init.json) : source ? (Readable.toWeb(source) as ReadableStream<Uint8Array>) : init.body;
    if (idle && body instanceof ReadableStream) body = idle.watched(body);
    const untilHeaders = new AbortController();
    const headersTimer =
      init.headersTimeoutMs === undefined ? undefined : setTimeout(() => untilHeaders.abort(new DOMException('no answer', 'TimeoutError')), init.headersTimeoutMs);
    const signals = [untilHeaders.signal, ...(init.timeoutMs === undefined ? [] : [AbortSignal.timeout(init.timeoutMs)]), ...(idle ? [idle.signal] : [])];
    let response: Response;
    try {
      response = await fetch(url, {
        method: init.method ?? 'GET',
        headers,
        body,
        ...(body instanceof ReadableStream && { duplex: 'half' }),
        redirect: init.redirect ?? 'follow',
        signal: AbortSignal.any(signals),
      } as RequestInit);
    } catch (error) {
      source?.destroy();
      idle?.done();
      throw new HttpFailure(url, idle?.signal.aborted ? idle.signal.reason : error, init.timeoutMs ?? init.headersTimeoutMs);
    } finally {
      clearTimeout(headersTimer);
    }
    if (!idle) return response;
    idle.touch();
    if (!response.body || [204, 205, 304].includes(response.status)) {
      idle.done();
      return response;
    }
    return new Response(idle.watched(response.body), { status: response.status, statusText: response.statusText, headers: response.headers });
  }
}

/** The body of an (error) answer as text, at most `limit` characters; empty when it cannot be read. */
export async function cappedText(response: Response, limit = ERROR_BODY_LIMIT): Promise<string> {
  const text = await response.text().catch(() => '');
  return text.slice(0, limit);
}

/** Reads and drops an answer's body (so the connection can be reused). */
export async function discardBody(response: Response): Promise<void> {
  await response.arrayBuffer().catch(() => undefined);
}

/** The outcome of one probe: whether the answer was accepted, its round trip and what went wrong. */
export interface ProbeResult {
  ok: boolean;
  status: number | null;
  /** Round trip until the whole answer arrived; null when none did. */
  rttMs: number | null;
  error: string | null;
}

/** `GET url` within `timeoutMs`, accepted when `accept(status)` (default: a 2xx). Never throws: every failure is a result. */
export async function probe(
  url: string,
  options: { timeoutMs: number; accept?: (status: number) => boolean; redirect?: 'follow' | 'manual' | 'error' },
): Promise<ProbeResult> {
  const started = performance.now();
  try {
    const response = await new HttpClient(url).send('', { timeoutMs: options.timeoutMs, redirect: options.redirect });
    await response.arrayBuffer();
    const rttMs = performance.now() - started;
    const ok = options.accept ? options.accept(response.status) : response.ok;
    return { ok, status: response.status, rttMs, error: ok ? null : `HTTP ${response.status}` };
  } catch (error) {
    return { ok: false, status: null, rttMs: null, error: error instanceof HttpFailure ? error.message : describeFetchFailure(error, options.timeoutMs) };
  }
}
