import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { CliError, EXIT_USAGE } from './cli-error';
/**
 * The single place in the CLI that reads `process.env` (house rule: besides libs/config, nothing
 * else does). Commands get these values as arguments, which keeps them testable.
 */

export interface CliEnvironment {
  /** `INFRABOX_API`: root URL of the InfraBox API to talk to. */
  readonly api?: string;
  /**
   * `INFRABOX_TOKEN`, else the content of the file `INFRABOX_TOKEN_FILE` names (a mounted Secret):
   * sent as a bearer token with every API request.
   */
  readonly token?: string;
  /** Where `infrabox login` saves user tokens: `$INFRABOX_CREDENTIALS`, else `$XDG_CONFIG_HOME/infrabox/credentials.json`, else under ~/.config. */
  readonly credentialsFile: string;
}

export function readCliEnvironment(): CliEnvironment {
  const file = nonEmpty(process.env.INFRABOX_TOKEN_FILE);
  const configHome = nonEmpty(process.env.XDG_CONFIG_HOME) ?? path.join(homedir(), '.config');
  return {
    api: nonEmpty(process.env.INFRABOX_API),
    token: nonEmpty(process.env.INFRABOX_TOKEN) ?? (file === undefined ? undefined : readTokenFile(file)),
    credentialsFile: nonEmpty(process.env.INFRABOX_CREDENTIALS) ?? path.join(configHome, 'infrabox', 'credentials.json'),
  };
}

function readTokenFile(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new CliError(`INFRABOX_TOKEN_FILE: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, EXIT_USAGE);
  }
}

/**
 * Environment of an app process started by `infrabox up`: this process's environment (so the
 * apps see INFRABOX_LOG_LEVEL and the like) with `overrides` applied.
 */
export function childEnvironment(overrides: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
