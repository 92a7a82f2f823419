/**
 * The in-pod agent: the data steps of a job's Kubernetes pod (`fetch-inputs` before the job's
 * command, `upload-output` after it), run as `node dist/apps/agent/src/main.js COMMAND …` from the
 * InfraBox image. Exit codes: 0 ok, 1 failure (the API refused or cannot be reached, a bad
 * archive), 2 usage error.
 */
import { Command, CommanderError } from 'commander';
import { readAgentEnvironment } from './agent-environment';
import { CommandFailure, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '@infrabox/toolkit';
import { registerAgentCommands } from './agent.commands';

export async function main(argv: string[]): Promise<number> {
  const stdout = (line: string) => process.stdout.write(`${line}\n`);
  const stderr = (line: string) => process.stderr.write(`${line}\n`);
  try {
    const program = new Command('infrabox-agent')
      .description("InfraBox's in-pod agent: a Kubernetes job pod's data steps, with the job token ($INFRABOX_TOKEN or $INFRABOX_TOKEN_FILE) against $INFRABOX_API")
      .exitOverride()
      .showHelpAfterError('(add --help for usage)');
    registerAgentCommands(program, readAgentEnvironment(), stdout);
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed the message (or the help) already.
      return error.code === 'commander.helpDisplayed' ? EXIT_OK : EXIT_USAGE;
    }
    if (error instanceof CommandFailure) {
      stderr(error.message);
      return error.exitCode;
    }
    stderr(`infrabox-agent: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_FAILURE;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
