import { Command } from 'commander';
import { ROUTES } from '@infrabox/contract';
import { API_OPTION_HELP, apiClientFor, TOKEN_OPTION_HELP } from './api-options';
import { CliError } from './cli-error';
import type { CliContext } from './cli.context';
import { formatClustersTable, isClusterList } from './clusters.table';
import { errorMessage } from './infrabox-api.client';

/** `infrabox clusters [--json]`, `infrabox clusters enable NAME`, `infrabox clusters disable NAME`. */
export function registerClustersCommand(program: Command, context: CliContext): void {
  const clusters = program
    .command('clusters')
    .description('list the clusters of the installation, or enable/disable one')
    .option('--json', 'print the API response as JSON instead of a table')
    .option('--api <url>', API_OPTION_HELP)
    .option('--token <token>', TOKEN_OPTION_HELP)
    .addHelpText(
      'after',
      `
Columns: NAME, LABELS (cluster.labels), ACTIVE (heartbeat seen recently), ENABLED (takes new
jobs), HEARTBEAT (age of the last heartbeat), URL (the cluster's API, its "host").

Examples:
  $ infrabox clusters
  $ infrabox clusters --json --api http://127.0.0.1:8080
  $ infrabox clusters disable worker-gcp`,
    )
    .action(async (options: { json?: boolean; api?: string; token?: string }) => {
      const client = apiClientFor(context, options);
      const path = ROUTES.clusters;
      const response = await client.request('GET', path);
      if (response.status !== 200) throw client.failure('GET', path, response);
      if (!isClusterList(response.body)) {
        throw new CliError(`unexpected answer from ${client.baseUrl}${path}: not a list of clusters (is --api the InfraBox API?)`);
      }
      if (options.json) {
        context.stdout(JSON.stringify(response.body, null, 2));
      } else if (response.body.length === 0) {
        context.stdout('no clusters registered');
      } else {
        for (const line of formatClustersTable(response.body)) context.stdout(line);
      }
    });

  for (const action of ['enable', 'disable'] as const) {
    clusters
      .command(action)
      .description(action === 'enable' ? 'let a cluster take new jobs again' : 'stop placing new jobs on a cluster (running jobs finish)')
      .argument('<name>', 'cluster name, as in `infrabox clusters`')
      .option('--api <url>', API_OPTION_HELP)
      .option('--token <token>', `admin ${TOKEN_OPTION_HELP}`)
      .addHelpText(
        'after',
        `
Example:
  $ infrabox clusters ${action} worker-gcp
  cluster worker-gcp ${action}d`,
      )
      .action(async (name: string, _options: unknown, command: Command) => {
        const options = command.optsWithGlobals<{ api?: string; token?: string }>();
        const client = apiClientFor(context, options, 'admin');
        const path = ROUTES.clusterAdmin(name, action);
        const response = await client.request('POST', path);
        if (response.status === 401 || response.status === 403) {
          throw new CliError(`clusters ${action} needs an admin token (\`infrabox admin token\`, then --token or $INFRABOX_TOKEN): ${errorMessage(response.body)}`);
        }
        if (response.status === 404) throw new CliError(`cluster '${name}' not found`);
        if (response.status < 200 || response.status > 299) throw client.failure('POST', path, response);
        context.stdout(`cluster ${name} ${action}d`);
      });
  }
}


