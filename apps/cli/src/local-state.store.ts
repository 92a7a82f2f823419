import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writePrivateFile } from './private-file';

/** What `infrabox up` writes to `<state dir>/local.json` so other commands find the local run. */
export interface LocalState {
  installations: Array<{ cluster: string; api: string }>;
  /** A project token for `infrabox push` (optional), and the project it is for. */
  token?: string;
  project?: string;
  /** An admin token (for `infrabox clusters enable/disable`), written by `infrabox up`. */
  adminToken?: string;
}

export const LOCAL_STATE_FILE = 'local.json';

export function localStatePath(stateDir: string): string {
  return path.resolve(stateDir, LOCAL_STATE_FILE);
}

/** The state of the last `infrabox up` in `stateDir`, or undefined when absent or unreadable. */
export function readLocalState(stateDir: string): LocalState | undefined {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(localStatePath(stateDir), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || !Array.isArray((value as LocalState).installations)) return undefined;
  const installations = (value as LocalState).installations.filter(
    (entry): entry is LocalState['installations'][number] =>
      typeof entry === 'object' && entry !== null && typeof entry.cluster === 'string' && typeof entry.api === 'string',
  );
  const { token, project, adminToken } = value as LocalState;
  return {
    installations,
    ...(typeof token === 'string' && token !== '' ? { token } : {}),
    ...(typeof project === 'string' && project !== '' ? { project } : {}),
    ...(typeof adminToken === 'string' && adminToken !== '' ? { adminToken } : {}),
  };
}

/** Writes atomically (temp file + rename), so a reader never sees half a file; mode 600: it holds tokens. */
export function writeLocalState(stateDir: string, state: LocalState): string {
  const file = localStatePath(stateDir);
  writePrivateFile(file, `${JSON.stringify(state, null, 2)}\n`);
  return file;
}
