import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadInstallConfig } from '@infrabox/config';
import { DEFAULT_ADMIN_TOKEN_TTL_SECONDS, MAX_ADMIN_TOKEN_TTL_SECONDS, mintAdminToken, rotateKey } from './admin/admin-token';
import { type ProjectMemberDto, ROUTES } from '@infrabox/contract';
import { API_OPTION_HELP, apiClientFor, TOKEN_OPTION_HELP } from './api-options';
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
  const admin = program.command('admin').description('operator commands: tokens and keys (a cluster\'s key file and database), project members (an admin token or login)');
  registerMembersCommand(admin, context);
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

/** `infrabox admin members list|add|remove`: who sees and pushes a project, through the API. */
function registerMembersCommand(admin: Command, context: CliContext): void {
  const members = admin
    .command('members')
    .description('list, add or remove the members of a project: the users who see and push it')
    .addHelpText(
      'after',
      `
Users are named as the OpenID provider names them (auth.oidc.username_claim, email by default).
Admins (auth.admins of the master's config) see every project without being members.

Examples:
  $ infrabox admin members add demo alice@example.com bob@example.com
  $ infrabox admin members list demo
  $ infrabox admin members remove demo bob@example.com`,
    );
  const path = ROUTES.projectMembers;
  members
    .command('list')
    .argument('<project>')
    .option('--api <url>', API_OPTION_HELP)
    .option('--token <token>', `admin ${TOKEN_OPTION_HELP}`)
    .action(async (project: string, options: { api?: string; token?: string }) => {
      const client = apiClientFor(context, options, 'admin');
      const response = await client.request('GET', path(project));
      if (response.status !== 200) throw client.failure('GET', path(project), response);
      for (const member of response.body as ProjectMemberDto[]) context.stdout(`${member.username}\t${member.addedAt}`);
    });
  members
    .command('add')
    .argument('<project>')
    .argument('<users...>')
    .option('--api <url>', API_OPTION_HELP)
    .option('--token <token>', `admin ${TOKEN_OPTION_HELP}`)
    .action(async (project: string, users: string[], options: { api?: string; token?: string }) => {
      const client = apiClientFor(context, options, 'admin');
      for (const user of users) {
        const response = await client.request('PUT', path(project, user));
        if (response.status !== 200) throw client.failure('PUT', path(project, user), response);
        context.stdout(`${user} is a member of ${project}`);
      }
    });
  members
    .command('remove')
    .argument('<project>')
    .argument('<user>')
    .option('--api <url>', API_OPTION_HELP)
    .option('--token <token>', `admin ${TOKEN_OPTION_HELP}`)
    .action(async (project: string, user: string, options: { api?: string; token?: string }) => {
      const client = apiClientFor(context, options, 'admin');
      const response = await client.request('DELETE', path(project, user));
      if (response.status !== 200) throw client.failure('DELETE', path(project, user), response);
      context.stdout(`${user} is no longer a member of ${project}`);
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
