/** Where progress goes: a terminal gets a bar redrawn in place, anything else plain lines. */
export interface ProgressOutput {
  readonly isTTY: boolean;
  write(text: string): void;
}

const BAR_WIDTH = 30;
const REDRAW_MS = 100;

/**
 * A tiny upload progress display: on a TTY `upload [#####-----]  42%  1.2/2.9 MiB`, redrawn at
 * most every 100 ms; otherwise a line `upload 10%`, `upload 20%`, … at each tenth crossed.
 */
export class UploadProgress {
  private lastDraw = 0;
  private lastTenth = -1;
  private finished = false;

  constructor(
    private readonly total: number,
    private readonly out: ProgressOutput,
  ) {}

  update(bytes: number): void {
    if (this.finished) return;
    const percent = this.total === 0 ? 100 : Math.min(100, Math.floor((bytes / this.total) * 100));
    if (this.out.isTTY) {
      const now = Date.now();
      if (now - this.lastDraw < REDRAW_MS && bytes < this.total) return;
      this.lastDraw = now;
      const filled = Math.round((percent / 100) * BAR_WIDTH);
      const bar = `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`;
      this.out.write(`\rupload [${bar}] ${String(percent).padStart(3)}%  ${mib(bytes)}/${mib(this.total)} MiB`);
    } else {
      const tenth = Math.floor(percent / 10);
      if (tenth > this.lastTenth) {
        for (let t = this.lastTenth + 1; t <= tenth; t++) if (t > 0) this.out.write(`upload ${t * 10}%\n`);
        this.lastTenth = tenth;
      }
    }
  }

  /** Completes the display (a newline after the bar). */
  done(): void {
    if (this.finished) return;
    this.update(this.total);
    this.finished = true;
    if (this.out.isTTY) this.out.write('\n');
  }
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
