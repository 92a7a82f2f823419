import type { CliEnvironment } from './cli-environment';

/** What every command gets: the environment it may use, where to write, and its exit code. */
export interface CliContext {
  readonly env: CliEnvironment;
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /** Raw writes to stderr (progress bars redraw a line) and whether stderr is a terminal. */
  readonly progressOut: { readonly isTTY: boolean; write(text: string): void };
  /** Set by the command that ran; 0 unless it says otherwise. */
  exitCode: number;
}

export function createCliContext(env: CliEnvironment): CliContext {
  return {
    env,
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
    progressOut: { isTTY: process.stderr.isTTY === true, write: (text) => process.stderr.write(text) },
    exitCode: 0,
  };
}
