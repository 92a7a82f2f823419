import { Command } from 'commander';
import { API_OPTION_HELP, apiClientFor, positiveInteger } from './api-options';
import { CliError } from './cli-error';
import type { CliContext } from './cli.context';
import { formatTable } from './text-table';

/** A build as `GET /api/v1/builds` lists it. */
export interface BuildSummaryView {
  id: string;
  project: string;
  number: number;
  createdAt: string;
}

function isBuildSummaryList(value: unknown): value is BuildSummaryView[] {
  return (
    Array.isArray(value) &&
    value.every(
      (b: unknown) =>
        typeof b === 'object' &&
        b !== null &&
        typeof (b as BuildSummaryView).id === 'string' &&
        typeof (b as BuildSummaryView).project === 'string' &&
        typeof (b as BuildSummaryView).number === 'number' &&
        typeof (b as BuildSummaryView).createdAt === 'string',
    )
  );
}

/** Lines of the `infrabox builds` table: ID PROJECT NUMBER CREATED. */
export function formatBuildsTable(builds: readonly BuildSummaryView[]): string[] {
  const header = ['ID', 'PROJECT', 'NUMBER', 'CREATED'];
  return formatTable(header, builds.map((b) => [b.id, b.project, String(b.number), b.createdAt]));
}

/** `infrabox builds [--json] [--limit N]`: the most recent builds. */
export function registerBuildsCommand(program: Command, context: CliContext): void {
  program
    .command('builds')
    .description('list the most recent builds: id, project, number, creation time')
    .option('--json', 'print the API response as JSON instead of a table')
    .option('--limit <n>', 'how many builds (the API caps this at 500)', positiveInteger, 50)
    .option('--api <url>', API_OPTION_HELP)
    .addHelpText(
      'after',
      `
Examples:
  $ infrabox builds
  $ infrabox builds --limit 10 --json`,
    )
    .action(async (options: { json?: boolean; limit: number; api?: string }) => {
      const client = apiClientFor(context, options.api);
      const path = `/api/v1/builds?limit=${options.limit}`;
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
