import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadInstallConfig } from '@infrabox/config';
import { DEFAULT_ADMIN_TOKEN_TTL_SECONDS, MAX_ADMIN_TOKEN_TTL_SECONDS, mintAdminToken, rotateKey } from './admin/admin-token';
import { CliError, EXIT_USAGE } from './cli-error';
import { DEFAULT_LOCAL_CONFIG_DIR } from './cli-paths';
import type { CliContext } from './cli.context';

/** The configuration `infrabox admin token` reads when given none: the local run's master. */
export const DEFAULT_ADMIN_CONFIG = path.join(DEFAULT_LOCAL_CONFIG_DIR, 'master.yaml');

interface AdminTokenOptions {
  config: string;
  ttl: number;
}

/** `infrabox admin token`: an admin token, signed with the master's key file; `infrabox admin rotate-key`. */
export function registerAdminCommand(program: Command, context: CliContext): void {
  const admin = program.command('admin').description('operator commands (need a cluster\'s key file and its database)');
  admin
    .command('token')
    .description('print an admin token, signed with the master\'s token signing key (auth.signing_key of its config)')
    .option('--config <file>', 'install configuration of the master (its auth.signing_key, and its database section or $DATABASE_URL)', DEFAULT_ADMIN_CONFIG)
    .option('--ttl <seconds>', `lifetime in seconds (default ${DEFAULT_ADMIN_TOKEN_TTL_SECONDS}, one day)`, parseTtl, DEFAULT_ADMIN_TOKEN_TTL_SECONDS)
    .addHelpText(
      'after',
      `
An admin token may mint project tokens, enable and disable clusters, create builds and abort
jobs of every project. Only the master issues one: whoever can read its key file (mode 600)
mints one; a worker's config, or the database alone, cannot.

Examples:
  $ infrabox admin token
  $ INFRABOX_TOKEN=$(infrabox admin token --config /etc/infrabox/config.yaml --ttl 3600) infrabox clusters disable worker-gcp`,
    )
    .action(async (options: AdminTokenOptions) => {
      context.stdout(await mintAdminToken(readConfig(options.config), options.ttl));
    });
  admin
    .command('rotate-key')
    .description('replace a cluster\'s token signing key: pin a new public key in the database, write the new key file')
    .option('--config <file>', 'install configuration of the cluster (its auth.signing_key, and its database section or $DATABASE_URL)', DEFAULT_ADMIN_CONFIG)
    .addHelpText(
      'after',
      `
The public key each cluster's tokens are verified with is pinned in the database at the cluster's
first start, and no other write replaces it. This is the one way to: for a key file that was lost
or may have been read. The old file is kept beside the new one (<file>.<time>.retired).
Restart the cluster's apps afterwards: tokens signed with the old key are refused from now on.

Example:
  $ infrabox admin rotate-key --config /etc/infrabox/worker.yaml`,
    )
    .action(async (options: { config: string }) => {
      const { keyFile, retired } = await rotateKey(readConfig(options.config));
      context.stdout(`new token signing key in ${keyFile} (the old one, if any, is ${retired}); restart the cluster's apps`);
    });
}

function readConfig(file: string) {
  try {
    return loadInstallConfig({ file });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, EXIT_USAGE);
    throw error;
  }
}

function parseTtl(value: string): number {
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || seconds < 1 || seconds > MAX_ADMIN_TOKEN_TTL_SECONDS) {
    throw new InvalidArgumentError(`expected a whole number of seconds from 1 to ${MAX_ADMIN_TOKEN_TTL_SECONDS} (10 years)`);
  }
  return seconds;
}
