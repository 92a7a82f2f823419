/** Helpers for this library's specs. */
import { validateBuildDefinition } from './parse-build-definition';
import type { BuildDefinition, ParseOptions } from './build-definition.types';

export function errorsOf(input: unknown, options?: ParseOptions): string[] {
  const result = validateBuildDefinition(typeof input === 'string' ? input : JSON.stringify(input), options);
  return result.ok ? [] : result.errors;
}

export function definitionOf(input: unknown, options?: ParseOptions): BuildDefinition {
  const result = validateBuildDefinition(typeof input === 'string' ? input : JSON.stringify(input), options);
  if (!result.ok) throw new Error(`unexpected errors:\n${result.errors.join('\n')}`);
  return result.definition;
}

/** A document with the given jobs. */
export function doc(...jobs: unknown[]): { version: 1; jobs: unknown[] } {
  return { version: 1, jobs };
}

/** Loader over an in-memory repository; records what was asked for. */
export function memoryLoader(files: Record<string, unknown>): ParseOptions['loadInclude'] & { calls: string[] } {
  const calls: string[] = [];
  const load = (path: string): string => {
    calls.push(path);
    const content = files[path];
    if (content === undefined) throw new Error(`ENOENT: no such file '${path}'`);
    return typeof content === 'string' ? content : JSON.stringify(content);
  };
  return Object.assign(load, { calls });
}
