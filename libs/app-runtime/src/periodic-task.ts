import { Logger } from '@nestjs/common';

/**
 * Runs `work` every `intervalMs`, counted from the end of the previous run, so runs never
 * overlap. A failing run is logged and the next one comes as usual. The timer is not unref'd:
 * in an app without HTTP it is what keeps the process alive.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly work: () => Promise<unknown>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.scheduleNext();
  }

  /** Stops the timer and waits for a run in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.work()
        .then(() => undefined)
        .catch((error: Error) => this.logger.warn(`${this.name} failed: ${error?.message ?? String(error)}`))
        .finally(() => {
          this.running = null;
          this.scheduleNext();
        });
    }, this.intervalMs);
  }
}
