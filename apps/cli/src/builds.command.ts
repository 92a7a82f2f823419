import { Command } from 'commander';
import { ROUTES } from '@infrabox/contract';
import { API_OPTION_HELP, apiClientFor, positiveInteger, TOKEN_OPTION_HELP } from './api-options';
import { formatBuildsTable, isBuildSummaryList } from './build.view';
import { CliError } from './cli-error';
import type { CliContext } from './cli.context';

/** `infrabox builds [--json] [--limit N]`: the most recent builds. */
export function registerBuildsCommand(program: Command, context: CliContext): void {
  program
    .command('builds')
    .description('list the most recent builds: id, project, number, state, creation time')
    .option('--json', 'print the API response as JSON (each build with its state and jobStates) instead of a table')
    .option('--limit <n>', 'how many builds (the API caps this at 500)', positiveInteger, 50)
    .option('--before <build>', 'only builds older than this one (the last id of the previous page)')
    .option('--api <url>', API_OPTION_HELP)
    .option('--token <token>', TOKEN_OPTION_HELP)
    .addHelpText(
      'after',
      `
Examples:
  $ infrabox builds
  $ infrabox builds --limit 10 --json
  $ infrabox builds --limit 10 --before <the last id of the page above>`,
    )
    .action(async (options: { json?: boolean; limit: number; before?: string; api?: string; token?: string }) => {
      const client = apiClientFor(context, options);
      const path = ROUTES.builds(new URLSearchParams({ limit: String(options.limit), ...(options.before !== undefined && { before: options.before }) }));
      const response = await client.request('GET', path);
      if (response.status !== 200) throw client.failure('GET', path, response);
      if (!isBuildSummaryList(response.body)) {
        throw new CliError(`unexpected answer from ${client.baseUrl}${path}: not a list of builds (is --api the InfraBox API?)`);
      }
      if (options.json) context.stdout(JSON.stringify(response.body, null, 2));
      else if (response.body.length === 0) context.stdout('no builds yet');
      else for (const line of formatBuildsTable(response.body)) context.stdout(line);
    });
}
