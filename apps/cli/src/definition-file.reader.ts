import { readFileSync } from 'node:fs';
import path from 'node:path';
import { validateBuildDefinition } from '@infrabox/job-definition';

export type DefinitionFileCheck = { ok: true; text: string } | { ok: false; lines: string[] };

/**
 * Reads and validates a job definition and the files its workflow jobs include (resolved
 * relative to the file's folder, the repository root). Problems come as `#path: reason` lines
 * for the file itself and `<included file>#path: reason` for included ones.
 */
export function checkDefinitionFile(file: string): DefinitionFileCheck {
  const absolute = path.resolve(file);
  const text = readText(absolute);
  if (typeof text !== 'string') return { ok: false, lines: [`${file}: ${text.problem}`] };
  const root = path.dirname(absolute);
  const result = validateBuildDefinition(text, {
    file: path.basename(absolute),
    loadInclude: (included) => {
      const content = readText(path.join(root, included));
      if (typeof content !== 'string') throw new Error(content.problem);
      return content;
    },
  });
  return result.ok ? { ok: true, text } : { ok: false, lines: result.errors };
}

function readText(file: string): string | { problem: string } {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { problem: 'no such file' };
    if (code === 'EISDIR') return { problem: 'is a directory, not a file' };
    return { problem: `cannot read: ${code ?? (error as Error).message}` };
  }
}
