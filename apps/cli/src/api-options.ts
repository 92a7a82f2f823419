import { InvalidArgumentError } from 'commander';
import { resolveApiUrl } from './api-url.resolver';
import { DEFAULT_STATE_DIR } from './cli-paths';
import type { CliContext } from './cli.context';
import { InfraboxApiClient } from './infrabox-api.client';

export const API_OPTION_HELP = 'InfraBox API root (default: $INFRABOX_API, else the master in .infrabox/local.json, else http://127.0.0.1:8080)';

/** How often `--follow` asks the API again. */
export const FOLLOW_INTERVAL_MS = 500;

/** The API client for a command: --api, else $INFRABOX_API, else local.json, else the default. */
export function apiClientFor(context: CliContext, flag: string | undefined): InfraboxApiClient {
  return new InfraboxApiClient(resolveApiUrl({ flag, env: context.env.api, stateDir: DEFAULT_STATE_DIR }), context.env.token);
}

/** Commander parser for a positive integer option (a usage error, exit 2, otherwise). */
export function positiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a positive integer');
  return Number(value);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
