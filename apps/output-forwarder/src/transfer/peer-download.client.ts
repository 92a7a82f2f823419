import type { IncomingMessage } from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import { once } from 'node:events';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { TokenService } from '@infrabox/auth';
import { CurrentCluster } from '@infrabox/config';
import { receivedCopyKey } from '@infrabox/jobs';
import { InjectObjectStorage, ObjectStorage } from '@infrabox/storage';
import { backoffDelay, cappedMessageText, retry, sleep, streamGet, streamPut } from '@infrabox/toolkit';
import { FORWARDER_OPTIONS, ForwarderOptions } from '../forwarder.options';

export class IntegrityError extends Error {}

/** An archive on a peer cluster, as its recorded size and sha256 describe it. */
export interface PeerArchive {
  /** Full URL of the peer endpoint serving the bytes (answers Range: bytes=N-). */
  url: string;
  /** The peer cluster (the audience of the cluster token). */
  from: string;
  size: number;
  sha256: string;
  /** For log lines: "job 123's output", "build 456's source". */
  what: string;
}

/**
 * Fetches archives (job outputs, build sources) from peer clusters into this cluster's storage:
 * streamed in constant memory, a cut connection resumed with a Range request into the same
 * upload, the bytes checked against the recorded sha256 before they count. Shared by every
 * kind of transfer of the output-forwarder.
 */
@Injectable()
export class PeerDownloadClient {
  private readonly logger: Logger;

  constructor(
    private readonly tokens: TokenService,
    @InjectObjectStorage() private readonly storage: ObjectStorage,
    cluster: CurrentCluster,
    @Inject(FORWARDER_OPTIONS) private readonly options: ForwarderOptions,
  ) {
    this.logger = new Logger(`forwarder@${cluster.name}`);
  }

  /**
   * Streams the peer's archive into a key of its own (receivedCopyKey of `baseKey`), then
   * `record`s it there. Bytes that fail the sha256 check are deleted and an IntegrityError is
   * thrown (the caller retries the whole transfer); a copy `record` finds recorded already (a
   * push that came first) is deleted too. Answers whether this copy was recorded.
   */
  async download(archive: PeerArchive, baseKey: string, record: (key: string) => Promise<boolean>): Promise<boolean> {
    const key = receivedCopyKey(baseKey);
    await this.receive(archive, key);
    if (await record(key)) return true;
    await this.storage.delete(key);
    return false;
  }

  private async receive(archive: PeerArchive, key: string): Promise<void> {
    const sink = new PassThrough({ highWaterMark: 256 * 1024 });
    const stored = this.storage.put(key, sink, { contentLength: archive.size });
    stored.catch(() => undefined); // awaited below; a failing put must not go unhandled meanwhile
    let received = 0;
    let resumes = 0;
    try {
      while (received < archive.size) {
        try {
          const response = await streamGet(
            archive.url,
            {
              authorization: `Bearer ${await this.tokens.issueClusterToken(archive.from)}`,
              ...(received > 0 ? { range: `bytes=${received}-` } : {}),
            },
            this.options.idleTimeoutMs,
            archive.from,
          );
          if (response.statusCode !== (received > 0 ? 206 : 200)) {
            throw new Error(`${archive.from} answered ${response.statusCode}: ${(await cappedMessageText(response)).slice(0, 300)}`);
          }
          for await (const chunk of response as AsyncIterable<Buffer>) {
            received += chunk.byteLength;
            if (!sink.write(chunk)) await once(sink, 'drain');
          }
          if (received < archive.size) throw new Error(`connection closed after ${received} of ${archive.size} bytes`);
        } catch (error) {
          if (received === 0 || received >= archive.size || ++resumes > this.options.maxAttempts) throw error;
          this.logger.warn(`${archive.what}: transfer from ${archive.from} cut at ${received} bytes (${(error as Error).message}); resuming`);
          await sleep(this.backoff(resumes));
        }
      }
      sink.end();
      const result = await stored;
      if (result.sha256 !== archive.sha256) {
        await this.storage.delete(key);
        throw new IntegrityError(`sha256 ${result.sha256} of the bytes received does not match the recorded ${archive.sha256}`);
      }
    } catch (error) {
      sink.destroy(error as Error);
      await stored.catch(() => undefined);
      throw error;
    }
  }

  /**
   * Streams the object at `key` (its recorded size) to a peer's PUT endpoint (push), which
   * verifies it against the recorded sha256. A cut push resumes like a pull: the peer is asked
   * how much arrived (`Content-Range: bytes *\/<size>`, answered 308 with `Range`) and only the
   * rest is sent; an answer but 2xx or 308 throws (the caller retries the whole push).
   */
  async upload(target: { url: string; to: string; size: number; what: string }, key: string): Promise<void> {
    let offset = 0;
    let resumes = 0;
    for (;;) {
      try {
        const response = await this.put(target, offset === 0 ? {} : { 'content-range': `bytes ${offset}-${target.size - 1}/${target.size}` }, await this.storage.get(key, offset > 0 ? { start: offset } : undefined), target.size - offset);
        if (response.statusCode === 308) {
          response.resume();
          throw new Error(`${target.to} holds ${heldBytes(response)} of ${target.size} bytes after the push ended`);
        }
        if (response.statusCode === undefined || response.statusCode < 200 || response.statusCode >= 300) {
          throw new PushRefused(`${target.to} answered ${response.statusCode}: ${(await cappedMessageText(response)).slice(0, 300)}`);
        }
        response.resume();
        return;
      } catch (error) {
        if (error instanceof PushRefused || ++resumes > this.options.maxAttempts) throw error;
        const held = await this.heldBy(target).catch(() => 0);
        this.logger.warn(`${target.what}: push to ${target.to} cut at ${held} of ${target.size} bytes (${(error as Error).message}); resuming`);
        offset = held;
        await sleep(this.backoff(resumes));
      }
    }
  }

  /** How many bytes of a push the peer holds (0 when it holds none, or is another replica). */
  private async heldBy(target: { url: string; to: string; size: number }): Promise<number> {
    const response = await this.put(target, { 'content-range': `bytes */${target.size}` }, Readable.from([]), 0);
    if (response.statusCode !== 308) throw new Error(`${target.to} answered ${response.statusCode} to a question of how much it holds: ${(await cappedMessageText(response)).slice(0, 300)}`);
    response.resume();
    return heldBytes(response);
  }

  private async put(target: { url: string; to: string }, headers: Record<string, string>, body: Readable, length: number): Promise<IncomingMessage> {
    return streamPut(
      target.url,
      { authorization: `Bearer ${await this.tokens.issueClusterToken(target.to)}`, 'content-type': 'application/x-tar', 'content-length': String(length), ...headers },
      body,
      this.options.idleTimeoutMs,
      target.to,
    );
  }

  /** Runs `attempt` up to maxAttempts times with exponential backoff, logging each failure. */
  async withRetries(what: string, attempt: () => Promise<void>): Promise<void> {
    const { maxAttempts } = this.options;
    await retry(attempt, {
      attempts: maxAttempts,
      baseMs: this.options.retryBaseMs,
      maxMs: this.options.retryMaxMs,
      onRetry: (error, n) => this.logger.warn(`${what} failed (attempt ${n}/${maxAttempts}): ${(error as Error).message}`),
    }).catch((error: Error) => {
      this.logger.error(`${what} failed after ${maxAttempts} attempts: ${error.message}`);
      throw error;
    });
  }

  private backoff(attempt: number): number {
    return backoffDelay(attempt, this.options.retryBaseMs, this.options.retryMaxMs);
  }
}

/** A peer refused a push (4xx, 5xx): sending the rest again would not help; the caller retries it whole. */
class PushRefused extends Error {}

/** The bytes a 308 answer's `Range: bytes=0-<last>` says the peer holds; none without one. */
function heldBytes(response: IncomingMessage): number {
  const match = /^bytes=0-(\d+)$/.exec(String(response.headers.range ?? ''));
  return match ? Number(match[1]) + 1 : 0;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}
