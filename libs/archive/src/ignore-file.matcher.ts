import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ignore from 'ignore';

/** The name of the ignore file `loadIgnoreFile` reads from the root of a source folder. */
export const IGNORE_FILE_NAME = '.infraboxignore';

/** Decides which paths `packDirectory` leaves out. */
export interface IgnoreMatcher {
  /**
   * Whether to leave out the entry at `relativePath` (POSIX separators, relative to the packed folder,
   * no leading `./` or `/`). `isDirectory` is true for real directories only (a symlink to a
   * directory is not one). A directory left out is not descended into, so nothing below it is packed.
   */
  ignores(relativePath: string, isDirectory: boolean): boolean;
}

/**
 * A matcher for gitignore-style `rules` (the text of an ignore file): `#` comments, blank lines, `*`,
 * `**`, `?`, `[...]`, a leading `/` anchoring to the root, a trailing `/` matching directories only,
 * `!` re-including, the last matching rule winning, and — as in git — no re-including below a
 * directory that is itself ignored. Matching is case-sensitive. Any path with a `.git` segment (the
 * repository folder, or the `.git` file of a submodule or worktree) is always ignored, whatever the rules.
 */
export function createIgnoreMatcher(rules: string): IgnoreMatcher {
  const rulesMatcher = ignore({ ignorecase: false }).add(rules);
  return {
    ignores(relativePath: string, isDirectory: boolean): boolean {
      if (relativePath.split('/').includes('.git')) return true;
      return rulesMatcher.ignores(isDirectory ? `${relativePath}/` : relativePath);
    },
  };
}

/**
 * Left out unless the ignore file re-includes them (`!/.infrabox/`): the local run's state, which
 * holds tokens (local.json), its database and its keys.
 */
export const DEFAULT_IGNORE_RULES = '/.infrabox/\n';

/**
 * The ignore rules of the source folder `dir`: {@link DEFAULT_IGNORE_RULES}, then its
 * `.infraboxignore` when there is one (a missing file adds no rules), plus `.git` always. Rules in
 * `.infraboxignore` files of subfolders are not read.
 */
export async function loadIgnoreFile(dir: string): Promise<IgnoreMatcher> {
  let rules = DEFAULT_IGNORE_RULES;
  try {
    rules += await readFile(path.join(dir, IGNORE_FILE_NAME), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return createIgnoreMatcher(rules);
}
