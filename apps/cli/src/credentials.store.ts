import { readFileSync } from 'node:fs';
import type { LoginDto } from '@infrabox/contract';
import { writePrivateFile } from './private-file';

/** What `infrabox login` keeps per API: the user token and whose it is. */
export type SavedLogin = LoginDto;

type Credentials = Record<string, SavedLogin>;

/** The logins saved in `file` (mode 600), by API root; an absent or unreadable file holds none. */
function readCredentials(file: string): Credentials {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const logins: Credentials = {};
  for (const [api, login] of Object.entries(value as Record<string, Partial<SavedLogin>>)) {
    if (typeof login?.token === 'string' && typeof login.username === 'string' && typeof login.expiresAt === 'string') {
      logins[api] = { token: login.token, username: login.username, admin: login.admin === true, expiresAt: login.expiresAt };
    }
  }
  return logins;
}

/** The saved login for `api` while it has not expired. */
export function savedLogin(file: string, api: string, now = Date.now()): SavedLogin | undefined {
  const login = readCredentials(file)[api];
  return login !== undefined && Date.parse(login.expiresAt) > now ? login : undefined;
}

export function saveLogin(file: string, api: string, login: SavedLogin): void {
  writePrivateFile(file, `${JSON.stringify({ ...readCredentials(file), [api]: login }, null, 2)}\n`);
}

/** Whether there was a login for `api` to forget. */
export function forgetLogin(file: string, api: string): boolean {
  const logins = readCredentials(file);
  if (!(api in logins)) return false;
  delete logins[api];
  writePrivateFile(file, `${JSON.stringify(logins, null, 2)}\n`);
  return true;
}
