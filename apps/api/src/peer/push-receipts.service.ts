import { PassThrough, Readable } from 'node:stream';
import { BadRequestException, Inject, Injectable, OnModuleDestroy, UnprocessableEntityException } from '@nestjs/common';
import { INSTALL_CONFIG, InstallConfig, timeoutsOf } from '@infrabox/config';
import { InjectObjectStorage, ObjectStorage, PutResult, StorageError } from '@infrabox/storage';

/** What a push request's `Content-Range` says: the whole archive, the rest from `start`, or a question (`bytes *\/size`). */
export type PushRange = { kind: 'whole' } | { kind: 'from'; start: number; size: number } | { kind: 'status'; size: number };

/** A push request's outcome: the archive stored (at `key`) and verified, or only `incomplete` bytes of it here so far. */
export type PushOutcome = { complete: PutResult & { key: string } } | { incomplete: number };

/** What the receiving cluster recorded of the archive: every copy has this size and sha256. */
export interface ExpectedArchive {
  size: number;
  sha256: string;
  /** For messages: "output of job '…'". */
  what: string;
}

/** A push cut part way, waiting for the pusher to send the rest into the same storage put. */
interface Receipt {
  key: string;
  size: number;
  received: number;
  sink: PassThrough;
  stored: Promise<PutResult>;
  /** A request is feeding it right now. */
  busy: boolean;
  /** Stops the request feeding it (a continuation takes over: the pusher gave that connection up). */
  detach?: () => void;
  /** Which request feeds it: bumped by each one, so a request taken over leaves the receipt alone. */
  generation: number;
  expiry?: NodeJS.Timeout;
}

/** `bytes 100-199/200` (the rest from 100), `bytes *\/200` (how much is here?); absent: the whole archive. */
export function parsePushRange(header: string | undefined, size: number): PushRange {
  if (header === undefined || header === '') return { kind: 'whole' };
  const match = /^bytes (?:(\d{1,15})-(\d{1,15})|\*)\/(\d{1,15})$/.exec(header.trim());
  if (!match) throw new BadRequestException(`Content-Range: expected "bytes <first>-<last>/<size>" or "bytes */<size>", got ${JSON.stringify(header.slice(0, 80))}`);
  const total = Number(match[3]);
  if (total !== size) throw new UnprocessableEntityException(`Content-Range: the archive has ${size} bytes here, not ${total}`);
  if (match[1] === undefined) return { kind: 'status', size: total };
  const [start, last] = [Number(match[1]), Number(match[2])];
  if (last !== size - 1 || start > last) throw new BadRequestException(`Content-Range: a push sends the rest of the archive, bytes <first>-${size - 1}/${size}; got ${JSON.stringify(header.slice(0, 80))}`);
  return { kind: 'from', start, size: total };
}

/**
 * Pushes that resume like pulls. A push is streamed into a storage put under its own key; when
 * its connection is cut, the put is held open for a while (four transfer idle timeouts) instead
 * of failing, so the pusher can ask how much arrived (`Content-Range: bytes *\/<size>` → 308 with
 * `Range: bytes=0-<last>`) and send only the rest (`Content-Range: bytes <next>-<last>/<size>`),
 * into the same put. The bytes are checked against the recorded size and sha256 once all are
 * here; a push left unfinished is dropped (its put fails, and nothing is stored). A resume that
 * reaches another api replica finds nothing there and starts again from the first byte.
 */
@Injectable()
export class PushReceipts implements OnModuleDestroy {
  private readonly receipts = new Map<string, Receipt>();
  private readonly keepMs: number;

  constructor(
    @InjectObjectStorage() private readonly storage: ObjectStorage,
    @Inject(INSTALL_CONFIG) config: InstallConfig,
  ) {
    this.keepMs = timeoutsOf(config).transferIdleMs * 4;
  }

  /**
   * One push request of `archive` from `peer` (`id` names the archive: `output:<job>`): stores
   * `body` under `newKey()` (or the key of the push it continues) and answers how far it got.
   * 422 for bytes of another size or sha256 (deleted). A continuation takes over from a request
   * still feeding the push (the pusher gave that connection up).
   */
  async receive(id: string, peer: string, body: Readable, range: PushRange, archive: ExpectedArchive, newKey: () => string): Promise<PushOutcome> {
    const name = `${id}@${peer}`;
    let receipt = this.receipts.get(name);
    if (range.kind === 'status') {
      body.resume();
      return { incomplete: receipt?.received ?? 0 };
    }
    if (range.kind === 'whole' || range.start === 0) {
      // A cut push of the same archive gives way; one still being received goes on by itself.
      if (receipt && !receipt.busy) this.drop(name, receipt);
      receipt = this.open(newKey(), archive.size);
      this.receipts.set(name, receipt);
    } else if (!receipt || range.start !== receipt.received) {
      body.resume();
      return { incomplete: receipt?.received ?? 0 };
    } else if (receipt.busy) {
      // The pusher gave the connection feeding it up (one it may see as cut before this api does): this one takes over.
      receipt.detach?.();
    }
    clearTimeout(receipt.expiry);
    receipt.busy = true;
    const generation = ++receipt.generation;
    const ended = await this.feed(receipt, body);
    if (receipt.generation !== generation) return { incomplete: receipt.received }; // taken over
    receipt.busy = false;
    const current = this.receipts.get(name) === receipt;
    if (!ended && receipt.received < receipt.size) {
      if (!current) {
        // A newer push of the archive took its place: this one can never be resumed.
        this.drop(name, receipt);
        return { incomplete: 0 };
      }
      receipt.expiry = setTimeout(() => this.drop(name, receipt), this.keepMs);
      receipt.expiry.unref();
      return { incomplete: receipt.received };
    }
    if (current) this.receipts.delete(name);
    if (receipt.received !== receipt.size) {
      receipt.sink.destroy();
      await receipt.stored.catch(() => undefined);
      throw new UnprocessableEntityException(`${archive.what}: ${receipt.received} bytes pushed, ${archive.size} recorded`);
    }
    receipt.sink.end();
    return { complete: { ...(await this.verified(receipt, archive)), key: receipt.key } };
  }

  onModuleDestroy(): void {
    for (const [name, receipt] of this.receipts) this.drop(name, receipt);
  }

  private open(key: string, size: number): Receipt {
    const sink = new PassThrough({ highWaterMark: 256 * 1024 });
    const stored = this.storage.put(key, sink, { contentLength: size });
    stored.catch(() => undefined); // awaited when the push ends; a dropped push must not go unhandled
    return { key, size, received: 0, sink, stored, busy: false, generation: 0 };
  }

  /** Copies `body` into the receipt's put; true when the request ended (all its bytes read), false when it was cut. */
  private feed(receipt: Receipt, body: Readable): Promise<boolean> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (ended: boolean) => {
        if (settled) return;
        settled = true;
        body.off('data', onData);
        receipt.sink.off('drain', onDrain);
        receipt.detach = undefined;
        resolve(ended);
      };
      receipt.detach = () => {
        settle(false);
        body.destroy();
      };
      const onDrain = () => body.resume();
      const onData = (chunk: Buffer) => {
        receipt.received += chunk.length;
        if (receipt.received > receipt.size) return settle(true); // more than recorded: refused by the caller
        if (!receipt.sink.write(chunk)) body.pause();
      };
      body.on('data', onData);
      receipt.sink.on('drain', onDrain);
      body.once('end', () => settle(true));
      body.once('close', () => settle(body.readableEnded));
      body.once('error', () => settle(false));
      receipt.stored.catch(() => settle(true));
    });
  }

  private async verified(receipt: Receipt, archive: ExpectedArchive): Promise<PutResult> {
    let stored: PutResult;
    try {
      stored = await receipt.stored;
    } catch (error) {
      if (error instanceof StorageError) throw new UnprocessableEntityException(`${archive.what}: ${error.message} (recorded: ${archive.size} bytes)`);
      throw error;
    }
    if (stored.size !== archive.size || stored.sha256 !== archive.sha256) {
      await this.storage.delete(receipt.key);
      throw new UnprocessableEntityException(
        `${archive.what}: sha256 ${stored.sha256} (${stored.size} bytes) does not match the recorded ${archive.sha256} (${archive.size} bytes)`,
      );
    }
    return stored;
  }

  /** Gives up a push: its put fails, so nothing of it is stored. */
  private drop(name: string, receipt: Receipt): void {
    clearTimeout(receipt.expiry);
    if (this.receipts.get(name) === receipt) this.receipts.delete(name);
    receipt.sink.destroy(new Error('push abandoned'));
  }
}
