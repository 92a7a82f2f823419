import { Command } from 'commander';
import { ROUTES } from '@infrabox/contract';
import { API_OPTION_HELP, apiClientFor, TOKEN_OPTION_HELP } from './api-options';
import { BuildWithJobs, formatJobsTable, isBuildWithJobs } from './build.view';
import { CliError } from './cli-error';
import type { CliContext } from './cli.context';
import { InfraboxApiClient } from './infrabox-api.client';

/** `infrabox jobs BUILD [--json]`: the jobs of a build: id, state, cluster, exit code, start, end, message. */
export function registerJobsCommand(program: Command, context: CliContext): void {
  program
    .command('jobs')
    .description('list the jobs of a build: id, state, cluster, exit code, started, finished, message')
    .argument('<build>', 'build id (as `infrabox push` prints it)')
    .option('--json', 'print the jobs as the API answers them ([{"id","name","state","cluster","exitCode","startedAt","finishedAt","message",…}]) instead of a table')
    .option('--api <url>', API_OPTION_HELP)
    .option('--token <token>', TOKEN_OPTION_HELP)
    .addHelpText(
      'after',
      `
Examples:
  $ infrabox jobs 0d9c2f4e-5b1a-4c7e-9a43-2f8e61b0c7d5
  $ infrabox jobs 0d9c2f4e-5b1a-4c7e-9a43-2f8e61b0c7d5 --json`,
    )
    .action(async (buildId: string, options: { json?: boolean; api?: string; token?: string }) => {
      const client = apiClientFor(context, options);
      const build = await fetchBuild(client, buildId);
      if (options.json) context.stdout(JSON.stringify(build.jobs, null, 2));
      else for (const line of formatJobsTable(build.jobs)) context.stdout(line);
    });
}

/** `GET /api/v1/builds/:id`, with one-line errors for a missing build or a wrong API. */
export async function fetchBuild(client: InfraboxApiClient, buildId: string): Promise<BuildWithJobs> {
  const path = ROUTES.build(buildId);
  const response = await client.request('GET', path);
  if (response.status === 404 || response.status === 400) throw new CliError(`build '${buildId}' not found`);
  if (response.status !== 200) throw client.failure('GET', path, response);
  if (!isBuildWithJobs(response.body)) throw new CliError(`unexpected answer from ${client.baseUrl}${path}: not a build (is --api the InfraBox API?)`);
  return response.body;
}
