/** A job's console is capped: output past this many bytes is dropped, with one line saying so. */
export const DEFAULT_CONSOLE_CAP_BYTES = 16 * 1024 * 1024;

/** PostgreSQL text holds no NUL: each one is stored as this visible sign (U+2400 SYMBOL FOR NULL). */
export const NUL_SIGN = '\u2400';

export interface ConsoleWriterOptions {
  intervalMs?: number;
  maxChunkBytes?: number;
  capBytes?: number;
  /** Told of each chunk that could not be stored (after which the writer goes on with the next). */
  onFailedWrite?: (error: unknown, bytes: number) => void;
}

/**
 * Collects a job's console output and hands it on in chunks — every `intervalMs` or
 * `maxChunkBytes`, whichever comes first — so that chatty output is not an event per line.
 * Flushes run one at a time, in order. NUL characters are stored as {@link NUL_SIGN} (the text
 * around them is kept); output past `capBytes` is dropped after one line that says so; a chunk
 * that cannot be stored is reported through `onFailedWrite`, never silently lost.
 */
export class ConsoleWriter {
  private buffer = '';
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private written = 0;
  private capped = false;
  private readonly intervalMs: number;
  private readonly maxChunkBytes: number;
  private readonly capBytes: number;

  constructor(
    private readonly flushChunk: (text: string) => Promise<void>,
    private readonly options: ConsoleWriterOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 100;
    this.maxChunkBytes = options.maxChunkBytes ?? 64 * 1024;
    this.capBytes = options.capBytes ?? DEFAULT_CONSOLE_CAP_BYTES;
  }

  write(text: string): void {
    if (this.capped || text === '') return;
    let visible = text.includes('\0') ? text.replaceAll('\0', NUL_SIGN) : text;
    const bytes = Buffer.byteLength(visible);
    if (this.written + bytes > this.capBytes) {
      visible = truncateToBytes(visible, this.capBytes - this.written);
      visible += `${visible.endsWith('\n') || visible === '' ? '' : '\n'}[console capped at ${formatBytes(this.capBytes)}: the rest of the output is dropped]\n`;
      this.capped = true;
    }
    this.written += Buffer.byteLength(visible);
    this.buffer += visible;
    if (this.capped || Buffer.byteLength(this.buffer) >= this.maxChunkBytes) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  /** Flushes what is left and waits for every flush to end. */
  async close(): Promise<void> {
    this.flush();
    await this.flushing;
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.buffer) return;
    const text = this.buffer;
    this.buffer = '';
    this.flushing = this.flushing
      .then(() => this.flushChunk(text))
      .catch((error: unknown) => this.options.onFailedWrite?.(error, Buffer.byteLength(text)));
  }
}

/** The longest prefix of `text` of at most `bytes` UTF-8 bytes that does not split a character. */
function truncateToBytes(text: string, bytes: number): string {
  if (bytes <= 0) return '';
  const encoded = Buffer.from(text);
  if (encoded.length <= bytes) return text;
  let end = bytes;
  while (end > 0 && (encoded[end] & 0xc0) === 0x80) end--; // not inside a multi-byte character
  return encoded.subarray(0, end).toString();
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}
