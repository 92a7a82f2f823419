import { InvalidArgumentError } from 'commander';
import { resolveApiUrl } from './api-url.resolver';
import { DEFAULT_STATE_DIR } from './cli-paths';
import type { CliContext } from './cli.context';
import { savedLogin } from './credentials.store';
import { InfraboxApiClient } from './infrabox-api.client';
import { readLocalState } from './local-state.store';

export const API_OPTION_HELP = 'InfraBox API root (default: $INFRABOX_API, else the master in .infrabox/local.json, else http://127.0.0.1:8080)';

/** Where a command's token comes from, first found wins (`--help` of every command that calls the API says so). */
export const TOKEN_OPTION_HELP =
  'token (default: $INFRABOX_TOKEN, else $INFRABOX_TOKEN_FILE, else your `infrabox login` for this API, else .infrabox/local.json of `infrabox up`)';

/** Which token of local.json a command falls back to: reads and admin commands the admin token, push the project token first. */
export type TokenUse = 'read' | 'push' | 'admin';

/** How often `--follow` asks the API again. */
export const FOLLOW_INTERVAL_MS = 500;

/**
 * The API client for a command: the API from --api, else $INFRABOX_API, else local.json, else the
 * default; the token from --token, else the environment, else the saved `infrabox login` for that
 * API, else the local run's local.json.
 */
export function apiClientFor(context: CliContext, options: { api?: string; token?: string }, use: TokenUse = 'read'): InfraboxApiClient {
  const api = resolveApiUrl({ flag: options.api, env: context.env.api, stateDir: DEFAULT_STATE_DIR });
  return new InfraboxApiClient(api, tokenFor(context, api, options.token, use));
}

function tokenFor(context: CliContext, api: string, flag: string | undefined, use: TokenUse): string | undefined {
  const explicit = flag ?? context.env.token ?? savedLogin(context.env.credentialsFile, api)?.token;
  if (explicit !== undefined) return explicit;
  const local = readLocalState(DEFAULT_STATE_DIR);
  return use === 'push' ? (local?.token ?? local?.adminToken) : local?.adminToken;
}

/** Commander parser for a positive integer option (a usage error, exit 2, otherwise). */
export function positiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a positive integer');
  return Number(value);
}

export { sleep } from '@infrabox/toolkit';
