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

/** Like validateBuildDefinition, but throws a DefinitionError listing all errors. */
export function parseBuildDefinition(input: unknown, options?: ParseOptions): BuildDefinition {
  const result = validateBuildDefinition(input, options);
  if (!result.ok) throw new DefinitionError(result.errors);
  return result.definition;
}
