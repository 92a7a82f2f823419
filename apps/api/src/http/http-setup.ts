import { isUtf8 } from 'node:buffer';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DEFAULT_TIMEOUTS, INSTALL_CONFIG, type InstallConfig, timeoutsOf } from '@infrabox/config';

/** Largest JSON request body (a build's infrabox.json is the biggest the api takes). */
export const JSON_BODY_LIMIT = '1mb';

/** Tells the global filter why a JSON body was refused before it was parsed. */
export const NOT_UTF8 = 'entity.not.utf8';

/**
 * The api's HTTP edge, set up before the app initialises: JSON bodies up to `JSON_BODY_LIMIT`,
 * in UTF-8 only (bytes that are not UTF-8 are refused instead of being read as U+FFFD), and
 * requests the HTTP parser refuses (headers too large, malformed) answered with a JSON error
 * like every other refusal. (Nest still adds its form parser; `ContentTypeGuard` refuses forms,
 * which no route takes.)
 */
export function configureApiHttp(app: INestApplication): void {
  (app as NestExpressApplication).useBodyParser('json', {
    limit: JSON_BODY_LIMIT,
    verify: (_req: unknown, _res: unknown, body: Buffer) => {
      if (!isUtf8(body)) throw Object.assign(new Error('request body: not valid UTF-8'), { type: NOT_UTF8 });
    },
  });
  const server = app.getHttpServer() as Server;
  server.on('clientError', answerClientError);
  // Timeouts sized for large uploads: no cap on a request's whole time (a source of GBs over a
  // slow link takes what it takes: Node's default of 300 s would cut it), but a connection idle
  // this long mid-request or mid-response (a stalled peer) is closed, and headers must come soon.
  server.requestTimeout = 0;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.timeout = apiIdleMsOf(app);
}

/** The config's timeouts.api_idle; the default for an app without an install config (a bare test app). */
function apiIdleMsOf(app: INestApplication): number {
  try {
    return timeoutsOf(app.get<InstallConfig>(INSTALL_CONFIG, { strict: false })).apiIdleMs;
  } catch {
    return DEFAULT_TIMEOUTS.apiIdleMs;
  }
}

/** The most a client may take to send a request's headers. */
export const HEADERS_TIMEOUT_MS = 60_000;

function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'request headers: too large']
      : [400, 'Bad Request', 'malformed HTTP request'];
  const body = JSON.stringify({ statusCode: status, message });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
