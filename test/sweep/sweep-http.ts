import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * One HTTP request with exactly these headers and body bytes (node:http, no body handling of
 * its own), so a test can send what a well-behaved client never would. A server that answers
 * before reading the whole body (413) may reset the upload: the answer still counts.
 */
export function send(baseUrl: string, method: string, route: string, options: { headers?: Record<string, string>; body?: Buffer } = {}): Promise<RawResponse> {
  const url = new URL(route, baseUrl);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      { host: url.hostname, port: url.port, method, path: route, headers: { connection: 'close', ...options.headers }, agent: false },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', (error) => {
      if (!answered) reject(new Error(`${method} ${route}: ${error.message}`));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    if (options.body !== undefined && options.headers?.['content-length'] === undefined && options.headers?.['transfer-encoding'] === undefined) {
      req.setHeader('content-length', String(options.body.length));
    }
    if (options.body !== undefined) req.write(options.body, () => undefined);
    req.end();
  });
}

/** Signs of a leak: stack frames, source or install paths, driver internals. */
const LEAKS: Array<[RegExp, string]> = [
  [/\n\s+at \S/, 'a stack frame'],
  [/\bat [\w.<>]+ \(/, 'a stack frame'],
  [/[\w-]+\.(ts|js|mjs):\d+/, 'a source position'],
  [/node_modules/, 'a node_modules path'],
  [/\bdist\/(apps|libs)\b/, 'a build path'],
  [/duplicate key value|violates .* constraint|syntax error at or near|relation "\w+"/, 'a database error'],
  [/\b(TypeError|ReferenceError|RangeError|SyntaxError|ERR_[A-Z_]+)\b/, 'an internal error name'],
];

/**
 * The answer to a bad request is a clear client error: a 4xx, a JSON body with a message that
 * names the problem, small, and nothing internal in it. Returns the problems found ([] = fine).
 */
export function clientErrorProblems(response: RawResponse, expectStatus?: number | number[], internalPaths: readonly string[] = []): string[] {
  const problems: string[] = [];
  for (const internal of internalPaths) if (response.text.includes(internal)) problems.push(`body shows the internal path ${internal}`);
  const wanted = expectStatus === undefined ? undefined : Array.isArray(expectStatus) ? expectStatus : [expectStatus];
  if (response.status < 400 || response.status > 499) problems.push(`status ${response.status}, expected a 4xx`);
  else if (wanted && !wanted.includes(response.status)) problems.push(`status ${response.status}, expected ${wanted.join(' or ')}`);
  if (response.text.length > 64 * 1024) problems.push(`body of ${response.text.length} characters`);
  const contentType = String(response.headers['content-type'] ?? '');
  if (!contentType.startsWith('application/json')) problems.push(`content-type '${contentType}', expected JSON`);
  let body: { message?: unknown; statusCode?: unknown } | undefined;
  try {
    body = JSON.parse(response.text) as typeof body;
  } catch {
    problems.push('body is not JSON');
  }
  const message = body?.message;
  const messages = Array.isArray(message) ? message : [message];
  if (messages.length === 0 || !messages.every((m) => typeof m === 'string' && m.trim().length > 0)) problems.push('no message in the body');
  for (const [pattern, what] of LEAKS) if (pattern.test(response.text)) problems.push(`body shows ${what}`);
  if (problems.length > 0) problems.push(`body: ${response.text.slice(0, 300)}`);
  return problems;
}
