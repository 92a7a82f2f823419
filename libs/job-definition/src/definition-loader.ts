/** Checks one definition file and, recursively, the files its workflow jobs include. */
import { parseDocument } from './build-definition.parser';
import type { ParseOptions } from './build-definition.types';
import { checkDependencyGraph } from './dependency-graph';
import { parseJsonText } from './json-text';
import { indexPath, Issues } from './readers';
import { resolveIncludePath, type LoadedEntry, type LoadedFile } from './workflow-includes';

/** Guards against include explosions (a file including another many times, recursively). */
export const MAX_INCLUDES = 500;
/** How deep includes may nest (the root file is depth 0); each level is one read of an uploaded source. */
export const MAX_INCLUDE_DEPTH = 16;

interface LoadContext {
  loadInclude: ParseOptions['loadInclude'];
  /** All error lines, of every file, in reading order. */
  errors: string[];
  includes: number;
}

/**
 * `chain` is the include chain from the root file down to `file` (inclusive).
 * Returns the file when neither it nor anything it includes has errors.
 */
export function loadDefinitionFile(
  input: unknown,
  chain: readonly string[],
  context: LoadContext,
): LoadedFile | undefined {
  const file = chain[chain.length - 1]!;
  // Root-file paths are plain `#...`; included files' paths name the file.
  const issues = new Issues(chain.length === 1 ? '' : file, context.errors);

  let value = input;
  if (typeof input === 'string') {
    const parsed = parseJsonText(input);
    if (!parsed.ok) {
      issues.add('#', `invalid JSON: ${parsed.message} at line ${parsed.line} column ${parsed.column}`);
      return undefined;
    }
    value = parsed.value;
  }

  const document = parseDocument(value, issues);
  if (document === undefined) return undefined;
  checkDependencyGraph(document.nodes, issues);

  const entries: LoadedEntry[] = [];
  let includeFailed = false;
  document.jobs.forEach((job, index) => {
    if (job === undefined) return;
    if (job.type !== 'workflow') {
      entries.push({ job });
      return;
    }
    const include = loadInclude(job.infraboxFile, `${indexPath('#jobs', index)}.infrabox_file`, chain, issues, context);
    if (include === undefined) includeFailed = true;
    else entries.push({ job, include });
  });

  const complete = issues.count === 0 && !includeFailed && entries.length === document.jobs.length;
  return complete ? { file, entries } : undefined;
}

function loadInclude(
  target: string,
  path: string,
  chain: readonly string[],
  issues: Issues,
  context: LoadContext,
): LoadedFile | undefined {
  const resolved = resolveIncludePath(chain[chain.length - 1]!, target);
  if ('error' in resolved) {
    issues.add(path, resolved.error);
    return undefined;
  }
  const file = resolved.path;
  if (chain.includes(file)) {
    issues.add(path, `include cycle ${[...chain.slice(chain.indexOf(file)), file].join(' -> ')}`);
    return undefined;
  }
  if (chain.length > MAX_INCLUDE_DEPTH) {
    issues.add(path, `cannot load ${file}: includes nest deeper than ${MAX_INCLUDE_DEPTH} levels`);
    return undefined;
  }
  if (++context.includes > MAX_INCLUDES) {
    issues.add(path, `cannot load ${file}: more than ${MAX_INCLUDES} includes`);
    return undefined;
  }
  if (context.loadInclude === undefined) {
    issues.add(path, `cannot load ${file}: no include loader configured`);
    return undefined;
  }
  let text: unknown;
  try {
    text = context.loadInclude(file);
  } catch (error) {
    issues.add(path, `cannot load ${file}: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
  if (typeof text !== 'string') {
    issues.add(path, `cannot load ${file}: loader returned ${text === null ? 'null' : typeof text} instead of text`);
    return undefined;
  }
  return loadDefinitionFile(text, [...chain, file], context);
}
