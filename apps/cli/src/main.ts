/**
 * The `infrabox` command line. Exit codes: 0 ok, 1 failure (invalid input, API error, an app
 * died), 2 usage error (unknown command or option, missing argument, invalid configuration).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { readCliEnvironment } from './cli-environment';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './cli-error';
import { CliContext, createCliContext } from './cli.context';
import { PACKAGE_ROOT } from './cli-paths';
import { registerAdminCommand } from './admin.command';
import { registerBuildsCommand } from './builds.command';
import { registerClustersCommand } from './clusters.command';
import { registerEventsCommand } from './events.command';
import { registerJobsCommand } from './jobs.command';
import { registerLoginCommands } from './login.command';
import { registerLogsCommand } from './logs.command';
import { registerPushCommand } from './push.command';
import { registerUpCommand } from './up.command';
import { registerValidateCommand } from './validate.command';

/** The version in this package's package.json. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

export function buildProgram(context: CliContext): Command {
  const program = new Command('infrabox')
    .description('InfraBox command line: validate job definitions, inspect clusters, run a local installation')
    .version(packageVersion(), '-V, --version', 'print the version of infrabox')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
The API is found through --api, else $INFRABOX_API, else .infrabox/local.json (written by
"infrabox up"), else http://127.0.0.1:8080. The token sent is --token, else $INFRABOX_TOKEN, else
the one "infrabox login" saved for that API, else the local run's (.infrabox/local.json).

Examples:
  $ infrabox validate infrabox.json
  $ infrabox up
  $ infrabox clusters
  $ infrabox clusters disable worker-gcp
  $ infrabox push --follow
  $ infrabox jobs <build id>
  $ infrabox builds --limit 10
  $ infrabox logs <job id> --follow
  $ infrabox events --follow --channel job_finished
  $ infrabox login --api https://infrabox.example.com
  $ infrabox admin members add demo alice@example.com
  $ infrabox admin token --config /etc/infrabox/config.yaml`,
    );
  registerValidateCommand(program, context);
  registerClustersCommand(program, context);
  registerUpCommand(program, context);
  registerPushCommand(program, context);
  registerJobsCommand(program, context);
  registerBuildsCommand(program, context);
  registerLogsCommand(program, context);
  registerEventsCommand(program, context);
  registerLoginCommands(program, context);
  registerAdminCommand(program, context);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  let environment;
  try {
    environment = readCliEnvironment();
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return error.exitCode;
  }
  const context = createCliContext(environment);
  try {
    await buildProgram(context).parseAsync(argv, { from: 'user' });
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed the message (or the help) already.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? EXIT_OK : EXIT_USAGE;
    }
    if (error instanceof CliError) {
      if (error.message !== '') context.stderr(error.message);
      return error.exitCode;
    }
    context.stderr(`infrabox: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_FAILURE;
  }
}

// A reader that stops early (`infrabox --help | head`) closes the pipe: stop quietly, as cat does.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
