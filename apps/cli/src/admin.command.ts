import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadInstallConfig } from '@infrabox/config';
import { DEFAULT_ADMIN_TOKEN_TTL_SECONDS, MAX_ADMIN_TOKEN_TTL_SECONDS, mintAdminToken } from './admin/admin-token';
import { CliError, EXIT_USAGE } from './cli-error';
import { DEFAULT_LOCAL_CONFIG_DIR } from './cli-paths';
import type { CliContext } from './cli.context';

/** The configuration `infrabox admin token` reads when given none: the local run's master. */
export const DEFAULT_ADMIN_CONFIG = path.join(DEFAULT_LOCAL_CONFIG_DIR, 'master.yaml');

interface AdminTokenOptions {
  config: string;
  ttl: number;
}

/** `infrabox admin token`: an admin token, signed with the cluster's key from its database. */
export function registerAdminCommand(program: Command, context: CliContext): void {
  const admin = program.command('admin').description('operator commands (need access to the installation\'s database)');
  admin
    .command('token')
    .description('print an admin token, signed with the cluster key kept in the installation\'s database')
    .option('--config <file>', 'install configuration of the cluster whose key signs (its database section, or $DATABASE_URL)', DEFAULT_ADMIN_CONFIG)
    .option('--ttl <seconds>', `lifetime in seconds (default ${DEFAULT_ADMIN_TOKEN_TTL_SECONDS}, one day)`, parseTtl, DEFAULT_ADMIN_TOKEN_TTL_SECONDS)
    .addHelpText(
      'after',
      `
An admin token may mint project tokens, enable and disable clusters, create builds and abort
jobs of every project. Only someone who can reach the database can mint one.

Examples:
  $ infrabox admin token
  $ INFRABOX_TOKEN=$(infrabox admin token --config /etc/infrabox/config.yaml --ttl 3600) infrabox clusters disable worker-gcp`,
    )
    .action(async (options: AdminTokenOptions) => {
      let config;
      try {
        config = loadInstallConfig({ file: options.config });
      } catch (error) {
        if (error instanceof ConfigError) throw new CliError(error.message, EXIT_USAGE);
        throw error;
      }
      context.stdout(await mintAdminToken(config, options.ttl));
    });
}

function parseTtl(value: string): number {
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || seconds < 1 || seconds > MAX_ADMIN_TOKEN_TTL_SECONDS) {
    throw new InvalidArgumentError(`expected a whole number of seconds from 1 to ${MAX_ADMIN_TOKEN_TTL_SECONDS} (10 years)`);
  }
  return seconds;
}
