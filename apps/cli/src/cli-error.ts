import { CommandFailure } from '@infrabox/toolkit';

/** Exit codes scripts can rely on. */
export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '@infrabox/toolkit';

/** A failure the user should see as one line (never a stack trace), with its exit code. */
export class CliError extends CommandFailure {
  override readonly name = 'CliError';
}
