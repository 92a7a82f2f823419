import type { BuildDefinition, ParseOptions } from './build-definition.types';
import { DefinitionError } from './definition-error';
import { loadDefinitionFile } from './definition-loader';
import { expandWorkflows, normaliseRepositoryPath } from './workflow-includes';

export type ValidationResult = { ok: true; definition: BuildDefinition } | { ok: false; errors: string[] };

/**
 * Validates an infrabox.json given as text (JSON) or as an already parsed
 * value, loads its includes through `options.loadInclude`, and expands
 * workflow jobs. Reports every error found; no I/O besides the loader.
 */
export function validateBuildDefinition(input: unknown, options: ParseOptions = {}): ValidationResult {
  const file = normaliseRepositoryPath(options.file ?? 'infrabox.json');
  if (file === undefined) throw new RangeError(`options.file must be a path inside the repository: ${options.file}`);
  const context = { loadInclude: options.loadInclude, errors: [] as string[], includes: 0 };
  const root = loadDefinitionFile(input, [file], context);
  if (root === undefined || context.errors.length > 0) {
    return { ok: false, errors: context.errors.length > 0 ? context.errors : ['#: invalid job definition'] };
  }
  return { ok: true, definition: { version: 1, jobs: expandWorkflows(root) } };
}

/**
 * Answers the texts of the include files asked for (repository-relative, normalised paths); a path
 * missing from the answer does not exist, an Error says why that file cannot be read.
 */
export type IncludeReader = (paths: string[]) => Promise<ReadonlyMap<string, string | Error>>;

/**
 * validateBuildDefinition for includes that are read asynchronously and best in batches (from
 * a tar archive in storage: one pass per batch): the definition is validated, the includes it
 * asked for and had not got are read in one call, and so on until nothing new is asked (one
 * round per include depth, at most MAX_INCLUDE_DEPTH). The checks and the expansion are
 * validateBuildDefinition's; only the loader differs.
 */
export async function validateBuildDefinitionReading(
  input: unknown,
  options: { file?: string; readIncludes: IncludeReader },
): Promise<ValidationResult> {
  const read = new Map<string, string | Error>();
  for (;;) {
    const asked = new Set<string>();
    const result = validateBuildDefinition(input, {
      ...(options.file !== undefined && { file: options.file }),
      loadInclude: (path) => {
        const text = read.get(path);
        if (typeof text === 'string') return text;
        if (text !== undefined) throw text;
        asked.add(path);
        throw new Error('not read yet');
      },
    });
    if (asked.size === 0) return result;
    const answer = await options.readIncludes([...asked]);
    for (const path of asked) read.set(path, answer.get(path) ?? new Error('no such file'));
  }
}

/** Like validateBuildDefinition, but throws a DefinitionError listing all errors. */
export function parseBuildDefinition(input: unknown, options?: ParseOptions): BuildDefinition {
  const result = validateBuildDefinition(input, options);
  if (!result.ok) throw new DefinitionError(result.errors);
  return result.definition;
}
