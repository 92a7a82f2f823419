/**
 * Collects a job's console output and hands it on in chunks — every `intervalMs` or
 * `maxBytes`, whichever comes first — so that chatty output is not an event per line.
 * Flushes run one at a time, in order.
 */
export class ConsoleWriter {
  private buffer = '';
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly flushChunk: (text: string) => Promise<void>,
    private readonly intervalMs = 100,
    private readonly maxBytes = 64 * 1024,
  ) {}

  write(text: string): void {
    this.buffer += text;
    if (Buffer.byteLength(this.buffer) >= this.maxBytes) this.flush();
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
    this.flushing = this.flushing.then(() => this.flushChunk(text)).catch(() => undefined);
  }
}
