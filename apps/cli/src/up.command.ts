import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { CliError, EXIT_USAGE } from './cli-error';
import { DEFAULT_LOCAL_CONFIG_DIR, DEFAULT_STATE_DIR, displayPath } from './cli-paths';
import type { CliContext } from './cli.context';
import { planLocalRun } from './up/installation.plan';
import { APPS, LocalRun } from './up/local-run.supervisor';

interface UpOptions {
  dataDir?: string;
  dbPort?: number;
  stateDir: string;
}

/** `infrabox up [CONFIG...]`: a whole multi-cluster installation as local processes. */
export function registerUpCommand(program: Command, context: CliContext): void {
  program
    .command('up')
    .description('run installations (a master and workers) locally, each as its own processes')
    .argument('[configs...]', 'install configurations (YAML); default: examples/local/*.yaml')
    .option('--data-dir <dir>', 'folder of the shared embedded PostgreSQL (default: the configs\' database.embedded.data_dir, .infrabox/postgres)')
    .option('--db-port <port>', 'port of the shared embedded PostgreSQL (default: the configs\' database.embedded.port, 54329)', parsePort)
    .option('--state-dir <dir>', 'where to write local.json (which other commands read to find the master) and the registries\' config.yml', DEFAULT_STATE_DIR)
    .addHelpText(
      'after',
      `
For each configuration, starts the apps ${APPS.join(', ')} as child processes
(node dist/apps/<app>/src/main.js --config FILE); their output is prefixed "[<cluster> <app>]".
Each installation also gets its image registry: Debian's docker-registry (CNCF distribution,
"apt-get install docker-registry"), its config.yml in <state-dir>/registry/<cluster>/, storing in
the cluster's storage, its api as token service; prefixed "[<cluster> docker-registry]". Without
the program, up says so in one line and runs without registries.
Configurations without a database section share one embedded PostgreSQL started by "up".
Ctrl-C (or SIGTERM) stops every app, then PostgreSQL, and exits 0. If an app exits on its own,
everything is stopped and the exit code is 1. Invalid configurations exit 2 before anything starts.

Examples:
  $ infrabox up
  $ infrabox up examples/local/master.yaml examples/local/worker-gcp.yaml
  $ infrabox up master.yaml --data-dir /tmp/infrabox-pg --db-port 55432 --state-dir /tmp/infrabox`,
    )
    .action(async (configs: string[], options: UpOptions) => {
      const files = configs.length > 0 ? configs : defaultConfigs();
      context.stdout(`configurations: ${files.map(displayPath).join(', ')}`);
      const plan = planLocalRun(files, { dataDir: options.dataDir, dbPort: options.dbPort });
      const run = new LocalRun(plan, { stateDir: options.stateDir, colour: process.stdout.isTTY === true }, context);
      context.exitCode = await run.run();
    });
}

function defaultConfigs(): string[] {
  let names: string[];
  try {
    names = readdirSync(DEFAULT_LOCAL_CONFIG_DIR).filter((name) => /\.ya?ml$/.test(name));
  } catch {
    names = [];
  }
  if (names.length === 0) throw new CliError(`no configuration given and none found in ${DEFAULT_LOCAL_CONFIG_DIR}`, EXIT_USAGE);
  return names.sort().map((name) => path.join(DEFAULT_LOCAL_CONFIG_DIR, name));
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) throw new InvalidArgumentError('expected a port number (1-65535)');
  return port;
}
