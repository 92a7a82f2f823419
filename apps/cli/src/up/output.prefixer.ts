import type { Readable, Writable } from 'node:stream';
import { formatLogLine } from './log-line.formatter';

const COLOURS = [36, 35, 33, 32, 34, 31] as const; // cyan, magenta, yellow, green, blue, red

/** How one source's lines are labelled: `[master api] ...`, coloured per installation on a TTY. */
export class LinePrefix {
  readonly text: string;

  constructor(label: string, colourIndex: number | undefined, colour: boolean) {
    const plain = `[${label}]`;
    this.text = colour && colourIndex !== undefined ? `\x1b[${COLOURS[colourIndex % COLOURS.length]}m${plain}\x1b[0m` : plain;
  }

  line(message: string): string {
    return `${this.text} ${message}\n`;
  }

  /** An app's output line: JSON log lines made readable, each of their lines prefixed. */
  appLine(line: string): string {
    return formatLogLine(line)
      .split('\n')
      .map((part) => this.line(part))
      .join('');
  }
}

/** Copies `source` to `target` line by line, each line prefixed (JSON log lines made readable); a last partial line is flushed at the end. */
export function pipePrefixed(source: Readable, target: Writable, prefix: LinePrefix): Promise<void> {
  let pending = '';
  source.setEncoding('utf8');
  source.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop()!;
    if (lines.length > 0) target.write(lines.map((line) => prefix.appLine(line.replace(/\r$/, ''))).join(''));
  });
  return new Promise((resolve) => {
    source.on('close', () => {
      if (pending !== '') target.write(prefix.appLine(pending));
      pending = '';
      resolve();
    });
  });
}
