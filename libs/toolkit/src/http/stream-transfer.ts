import { get as httpGetPlain, IncomingMessage, request as httpRequestPlain } from 'node:http';
import { get as httpsGet, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';

/*
 * The bulk path of the HTTP toolkit: archives of many MiB between clusters, streamed with Node's
 * own client (for bulk bytes it is leaner than fetch's web streams; HttpClient serves every
 * other request). Both cut a peer that stalls, so a transfer never waits without end.
 */

/**
 * A streaming GET whose connection is cut once the peer sends nothing for `idleMs` (before the headers or
 * between two chunks of the body): a stalled peer ends in an error the caller resumes or
 * retries, never in a wait without end.
 */
export function streamGet(url: string, headers: Record<string, string>, idleMs: number, peer: string): Promise<IncomingMessage> {
  const get = url.startsWith('https:') ? httpsGet : httpGetPlain;
  return new Promise((resolve, reject) => {
    let response: IncomingMessage | undefined;
    const request = get(url, { headers, timeout: idleMs }, (answer) => {
      response = answer;
      resolve(answer);
    });
    request.on('timeout', () => {
      // The body's reader sees this error, not a bare "aborted".
      const stalled = new Error(`${peer} sent nothing for ${idleMs / 1000} s`);
      response?.destroy(stalled);
      request.destroy(stalled);
    });
    request.on('error', reject);
  });
}

/**
 * A PUT streaming `body`, cut once the peer takes or sends nothing for `idleMs` (it stopped
 * reading the upload, or never answers): the caller retries.
 */
export function streamPut(url: string, headers: Record<string, string>, body: Readable, idleMs: number, peer: string): Promise<IncomingMessage> {
  const send = url.startsWith('https:') ? httpsRequest : httpRequestPlain;
  return new Promise((resolve, reject) => {
    const request = send(url, { method: 'PUT', headers, timeout: idleMs }, resolve);
    request.on('timeout', () => request.destroy(new Error(`${peer} took nothing and answered nothing for ${idleMs / 1000} s`)));
    request.on('error', (error) => {
      body.destroy();
      reject(error);
    });
    body.on('error', (error) => request.destroy(error));
    body.pipe(request);
  });
}

/** An error answer's body (of a streamed request), read up to 64 KiB: a peer cannot make us buffer more. */
export async function cappedMessageText(response: IncomingMessage, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) {
      response.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
