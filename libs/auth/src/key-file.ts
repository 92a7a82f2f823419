import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/*
 * Files that hold a cluster's private keys: made once, never replaced behind a reader's back.
 */

/** The file's text; undefined when it does not exist. */
export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Writes `text` to `file` (mode 600, its folder 700) unless the file exists, and returns the text
 * the file holds: `text`, or what another process wrote first. The new file is written to a
 * temporary name and then linked into place, which fails rather than replaces when the other
 * won (a rename would let the second key replace the first after someone read it).
 */
export async function createOnce(file: string, text: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = temporaryName(file);
  await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
  try {
    await link(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return readFile(file, 'utf8');
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  return text;
}

/** Writes `text` to `file` through a temporary file and a rename, so a reader never sees half of it. */
export async function replaceFile(file: string, text: string, mode: number): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = temporaryName(file);
  await writeFile(temporary, text, { mode, flag: 'wx' });
  await chmod(temporary, mode); // writeFile's mode is masked by the umask
  await rename(temporary, file);
}

function temporaryName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}
