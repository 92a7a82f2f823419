/** Exit codes of InfraBox's command lines (the CLI, the in-pod agent) that scripts and the scheduler rely on. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A failure the user should see as one line (never a stack trace), with its exit code. */
export class CommandFailure extends Error {
  override readonly name: string = 'CommandFailure';

  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
  }
}
