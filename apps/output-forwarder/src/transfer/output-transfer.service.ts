import { get as httpGetPlain, IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { PassThrough, Readable } from 'node:stream';
import { once } from 'node:events';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { lastValueFrom } from 'rxjs';
import { TokenService } from '@infrabox/auth';
import { ClusterReachabilityRepository, ClusterRepository } from '@infrabox/clusters';
import { INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { forCluster, PgEventClient } from '@infrabox/events';
import { JOB_INPUTS_READY, JobInputsReadyEvent, JobOutput, JobOutputRepository, outputKey } from '@infrabox/jobs';
import { InjectObjectStorage, ObjectStorage } from '@infrabox/storage';
import { FORWARDER_OPTIONS, ForwarderOptions } from '../forwarder.options';

class IntegrityError extends Error {}


/**
 * Moves a job's output from the cluster it ran on to a cluster that runs one of its children.
 * The child's cluster fetches it (pull); where that cluster cannot reach the parent's but the
 * parent's can reach it, the parent's cluster sends it (push). Either way the bytes stream
 * (constant memory), are checked against the sha256 recorded when the job ended, and become an
 * input only once complete and verified.
 */
@Injectable()
export class OutputTransferService {
  private readonly logger: Logger;
  private readonly cluster: string;
  /** Transfers in progress in this process, so a re-delivered event joins instead of repeating. */
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly outputs: JobOutputRepository,
    private readonly clusters: ClusterRepository,
    private readonly reachability: ClusterReachabilityRepository,
    private readonly tokens: TokenService,
    private readonly events: PgEventClient,
    @InjectObjectStorage() private readonly storage: ObjectStorage,
    @Inject(INSTALL_CONFIG) config: InstallConfig,
    @Inject(FORWARDER_OPTIONS) private readonly options: ForwarderOptions,
  ) {
    this.cluster = config.cluster.name;
    this.logger = new Logger(`forwarder@${this.cluster}`);
  }

  /** Pull direction: unless the parent's cluster is known to be unreachable from here. */
  async mayPullFrom(origin: string): Promise<boolean> {
    return (await this.reachability.find(this.cluster, origin))?.reachable !== false;
  }

  /** Push direction: only when `target` cannot reach us, and we are not known to be cut off from it. */
  async shouldPushTo(target: string): Promise<boolean> {
    const pull = await this.reachability.find(target, this.cluster);
    const push = await this.reachability.find(this.cluster, target);
    return pull?.reachable === false && push?.reachable !== false;
  }

  pull(jobId: string, from: string): Promise<void> {
    return this.once(`pull:${jobId}`, () => this.doPull(jobId, from));
  }

  push(jobId: string, to: string): Promise<void> {
    return this.once(`push:${jobId}:${to}`, () => this.doPush(jobId, to));
  }

  private async once(key: string, work: () => Promise<void>): Promise<void> {
    const running = this.inFlight.get(key);
    if (running) return running;
    const promise = work().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return promise;
  }

  private async doPull(jobId: string, from: string): Promise<void> {
    const origin = await this.outputs.findOrigin(jobId);
    if (!origin?.storageKey) return; // nothing to move
    if (await this.outputs.find(jobId, this.cluster)) return; // already here (a re-delivered event)
    const peer = await this.clusters.findByName(from);
    if (!peer) throw new Error(`cluster '${from}' is not registered`);
    const started = Date.now();
    await this.withRetries(`pull of job ${jobId}'s output from ${from}`, () => this.download(origin, peer.apiUrl, from));
    const seconds = (Date.now() - started) / 1000;
    this.logger.log(`job ${jobId}: pulled ${formatBytes(origin.size)} from ${from} in ${seconds.toFixed(2)} s`);
  }

  private async doPush(jobId: string, to: string): Promise<void> {
    const origin = await this.outputs.find(jobId, this.cluster);
    if (!origin?.storageKey) return;
    if (await this.outputs.find(jobId, to)) return;
    const peer = await this.clusters.findByName(to);
    if (!peer) throw new Error(`cluster '${to}' is not registered`);
    const started = Date.now();
    await this.withRetries(`push of job ${jobId}'s output to ${to}`, async () => {
      const body = await this.storage.get(origin.storageKey!);
      const response = await fetch(`${peer.apiUrl}/api/v1/peer/jobs/${jobId}/output`, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${await this.tokens.issueClusterToken(to)}`,
          'content-type': 'application/x-tar',
          'content-length': String(origin.size),
        },
        body: Readable.toWeb(body) as ReadableStream,
        duplex: 'half',
      } as RequestInit);
      if (!response.ok) throw new Error(`${to} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
    });
    this.logger.log(`job ${jobId}: pushed ${formatBytes(origin.size)} to ${to} in ${((Date.now() - started) / 1000).toFixed(2)} s`);
  }

  /**
   * Streams the peer's copy into local storage. A cut connection resumes with a Range request
   * where it stopped, into the same upload; bytes that fail the sha256 check are deleted and
   * the whole transfer starts again.
   */
  private async download(origin: JobOutput, apiUrl: string, from: string): Promise<void> {
    const key = outputKey(origin.jobId);
    const sink = new PassThrough({ highWaterMark: 256 * 1024 });
    const stored = this.storage.put(key, sink, { contentLength: origin.size });
    stored.catch(() => undefined); // awaited below; a failing put must not go unhandled meanwhile
    let received = 0;
    let resumes = 0;
    try {
      while (received < origin.size) {
        try {
          const response = await httpGet(`${apiUrl}/api/v1/peer/jobs/${origin.jobId}/output`, {
            authorization: `Bearer ${await this.tokens.issueClusterToken(from)}`,
            ...(received > 0 ? { range: `bytes=${received}-` } : {}),
          });
          if (response.statusCode !== (received > 0 ? 206 : 200)) {
            throw new Error(`${from} answered ${response.statusCode}: ${(await readText(response)).slice(0, 300)}`);
          }
          for await (const chunk of response as AsyncIterable<Buffer>) {
            received += chunk.byteLength;
            if (!sink.write(chunk)) await once(sink, 'drain');
          }
          if (received < origin.size) throw new Error(`connection closed after ${received} of ${origin.size} bytes`);
        } catch (error) {
          if (received === 0 || received >= origin.size || ++resumes > this.options.maxAttempts) throw error;
          this.logger.warn(`job ${origin.jobId}: transfer from ${from} cut at ${received} bytes (${(error as Error).message}); resuming`);
          await sleep(this.backoff(resumes));
        }
      }
      sink.end();
      const result = await stored;
      if (result.sha256 !== origin.sha256) {
        await this.storage.delete(key);
        throw new IntegrityError(`sha256 ${result.sha256} of the bytes received does not match the recorded ${origin.sha256}`);
      }
      await this.recordCopy({ ...origin, cluster: this.cluster, storageKey: key });
    } catch (error) {
      sink.destroy(error as Error);
      await stored.catch(() => undefined);
      throw error;
    }
  }

  private async recordCopy(copy: JobOutput): Promise<void> {
    await this.db.transaction(async () => {
      if (!(await this.outputs.record(copy))) return;
      const event: JobInputsReadyEvent = { jobId: copy.jobId, cluster: copy.cluster };
      await lastValueFrom(this.events.emit(JOB_INPUTS_READY, forCluster(copy.cluster, event)));
    });
  }

  private async withRetries(what: string, attempt: () => Promise<void>): Promise<void> {
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (error) {
        const reason = (error as Error).message;
        if (n >= this.options.maxAttempts) {
          this.logger.error(`${what} failed after ${n} attempts: ${reason}`);
          throw error;
        }
        this.logger.warn(`${what} failed (attempt ${n}/${this.options.maxAttempts}): ${reason}`);
        await sleep(this.backoff(n));
      }
    }
  }

  private backoff(attempt: number): number {
    return Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** (attempt - 1));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A streaming GET with Node's own client: for bulk bytes it is leaner than fetch's web streams. */
function httpGet(url: string, headers: Record<string, string>): Promise<IncomingMessage> {
  const get = url.startsWith('https:') ? httpsGet : httpGetPlain;
  return new Promise((resolve, reject) => get(url, { headers }, resolve).on('error', reject));
}

async function readText(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}
