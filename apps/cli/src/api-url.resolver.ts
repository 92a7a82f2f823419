import { MASTER_CLUSTER } from '@infrabox/config';
import { CliError, EXIT_USAGE } from './cli-error';
import { readLocalState } from './local-state.store';

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

export interface ApiUrlSources {
  /** `--api` */
  flag?: string;
  /** `INFRABOX_API` */
  env?: string;
  /** Folder holding local.json of `infrabox up`. */
  stateDir: string;
}

/**
 * The API to talk to: `--api`, else `INFRABOX_API`, else the master of the local run recorded
 * in `<state dir>/local.json`, else http://127.0.0.1:8080. Returned without a trailing slash.
 */
export function resolveApiUrl(sources: ApiUrlSources): string {
  if (sources.flag !== undefined) return normalise(sources.flag, '--api');
  if (sources.env !== undefined) return normalise(sources.env, 'INFRABOX_API');
  const master = readLocalState(sources.stateDir)?.installations.find((entry) => entry.cluster === MASTER_CLUSTER);
  if (master !== undefined) return normalise(master.api, 'local.json');
  return DEFAULT_API_URL;
}

function normalise(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`${source}: expected an http(s) URL, got ${JSON.stringify(value)}`, EXIT_USAGE);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`${source}: expected an http(s) URL, got ${JSON.stringify(value)}`, EXIT_USAGE);
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}
