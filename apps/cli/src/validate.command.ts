import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { validateBuildDefinition } from '@infrabox/job-definition';
import { EXIT_FAILURE } from './cli-error';
import type { CliContext } from './cli.context';

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
  const absolute = path.resolve(file);
  const text = readText(absolute);
  if (typeof text !== 'string') {
    context.stdout(`${file}: ${text.problem}`);
    return EXIT_FAILURE;
  }
  const root = path.dirname(absolute);
  const result = validateBuildDefinition(text, {
    file: path.basename(absolute),
    loadInclude: (included) => {
      const content = readText(path.join(root, included));
      if (typeof content !== 'string') throw new Error(content.problem);
      return content;
    },
  });
  if (result.ok) {
    context.stdout('valid');
    return 0;
  }
  for (const line of result.errors) context.stdout(line);
  return EXIT_FAILURE;
}

function readText(file: string): string | { problem: string } {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { problem: 'no such file' };
    if (code === 'EISDIR') return { problem: 'is a directory, not a file' };
    return { problem: `cannot read: ${code ?? (error as Error).message}` };
  }
}
