import { Command } from 'commander';
import { EXIT_FAILURE } from './cli-error';
import type { CliContext } from './cli.context';
import { checkDefinitionFile } from './definition-file.reader';

const DEFAULT_FILE = 'infrabox.json';

/**
 * `infrabox validate [FILE]`: checks a job definition and the files its workflow jobs include
 * (resolved relative to the file's folder, which acts as the repository root). All output goes
 * to stdout: `valid`, or one `<file>#<path>: <reason>` line per problem.
 */
export function registerValidateCommand(program: Command, context: CliContext): void {
  program
    .command('validate')
    .description('check a job definition (infrabox.json) and the files it includes')
    .argument('[file]', 'job definition to check', DEFAULT_FILE)
    .addHelpText(
      'after',
      `
Prints "valid" and exits 0, or prints one line per problem and exits 1. Lines of the file
itself start with "#", lines of included files with the included file's path:
  #jobs[0].name: required
  ci/build.json#jobs[1].depends_on[0]: unknown job 'compile'

Examples:
  $ infrabox validate
  $ infrabox validate ci/infrabox.json`,
    )
    .action((file: string) => {
      context.exitCode = validateFile(file, context);
    });
}

function validateFile(file: string, context: CliContext): number {
  const check = checkDefinitionFile(file);
  if (check.ok) {
    context.stdout('valid');
    return 0;
  }
  for (const line of check.lines) context.stdout(line);
  return EXIT_FAILURE;
}
