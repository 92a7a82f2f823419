/**
 * `workflow` jobs include another infrabox.json. Following InfraBox, the
 * workflow job itself does not run; it is replaced by the included jobs:
 * - included jobs are renamed `<workflow>/<job>` and their internal
 *   `depends_on` rewritten accordingly (includes nest: `a/b/c`);
 * - included jobs without a dependency inside the include inherit the
 *   workflow's own `depends_on`, and its `cluster` when they set none;
 * - jobs depending on the workflow depend on the include's leaf jobs (those no
 *   other included job depends on), with the conditions they gave. For an
 *   include without jobs they depend on the workflow's own parents instead.
 */
import { posix } from 'node:path';
import type { JobDefinition, JobDependency, WorkflowJob } from './build-definition.types';
import { shortened } from './readers';

export type LoadedEntry = { job: JobDefinition } | { job: WorkflowJob; include: LoadedFile };

/** A file that passed all checks, with its workflow jobs' includes loaded. */
export interface LoadedFile {
  file: string;
  entries: LoadedEntry[];
}

/** Normalises a repository-relative file path (`./a//b.json` → `a/b.json`). */
export function normaliseRepositoryPath(file: string): string | undefined {
  if (isAbsolute(file)) return undefined;
  const normalised = posix.normalize(file);
  return escapesRoot(normalised) ? undefined : normalised;
}

/** Resolves `target` against the directory of `fromFile`; a reason when it is not acceptable. */
export function resolveIncludePath(fromFile: string, target: string): { path: string } | { error: string } {
  const shown = JSON.stringify(shortened(target));
  if (target.includes('\\')) return { error: `must use '/' as path separator, got ${shown}` };
  if (isAbsolute(target)) return { error: `must be a path relative to the including file, got ${shown}` };
  const path = posix.normalize(posix.join(posix.dirname(fromFile), target));
  if (escapesRoot(path)) return { error: `must not point outside the repository root, got ${shown}` };
  if (path === '.' || path.endsWith('/')) return { error: `must name a file, got ${shown}` };
  return { path };
}

function isAbsolute(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:/.test(path);
}

function escapesRoot(normalised: string): boolean {
  return normalised === '..' || normalised.startsWith('../');
}

/** The final job list of `file`, with job names relative to it. */
export function expandWorkflows(file: LoadedFile): JobDefinition[] {
  const byName = new Map(file.entries.map((entry) => [entry.job.name, entry]));
  const expanded = new Map<string, { jobs: JobDefinition[]; leaves: string[] }>();
  for (const entry of file.entries) {
    if (!('include' in entry)) continue;
    const jobs = expandWorkflows(entry.include);
    const parents = new Set(jobs.flatMap((j) => j.dependsOn.map((d) => d.job)));
    const leaves = jobs.filter((j) => !parents.has(j.name)).map((j) => `${entry.job.name}/${j.name}`);
    expanded.set(entry.job.name, { jobs, leaves });
  }

  // The jobs that stand for `name` as a parent; the file is acyclic, so this terminates.
  const exits = (name: string): string[] => {
    const entry = byName.get(name);
    if (entry === undefined || !('include' in entry)) return [name];
    const leaves = expanded.get(name)?.leaves ?? [];
    return leaves.length > 0 ? leaves : entry.job.dependsOn.flatMap((d) => exits(d.job));
  };
  const rewrite = (dependsOn: readonly JobDependency[]) =>
    mergeDependencies(dependsOn.flatMap((d) => exits(d.job).map((job) => ({ job, on: d.on }))));

  return file.entries.flatMap((entry): JobDefinition[] => {
    if (!('include' in entry)) return [{ ...entry.job, dependsOn: rewrite(entry.job.dependsOn) }];
    const workflow = entry.job;
    const inherited = rewrite(workflow.dependsOn);
    return (expanded.get(workflow.name)?.jobs ?? []).map((job) => ({
      ...job,
      name: `${workflow.name}/${job.name}`,
      dependsOn:
        job.dependsOn.length > 0
          ? job.dependsOn.map((d) => ({ job: `${workflow.name}/${d.job}`, on: [...d.on] }))
          : inherited.map((d) => ({ job: d.job, on: [...d.on] })),
      ...(job.cluster === undefined && workflow.cluster !== undefined && { cluster: workflow.cluster }),
      ...(job.type === 'docker-image' && typeof job.image !== 'string' && { image: { job: `${workflow.name}/${job.image.job}` } }),
    }));
  });
}

/** One entry per parent (first-seen order); conditions of repeated parents are united. */
function mergeDependencies(dependencies: readonly JobDependency[]): JobDependency[] {
  const merged = new Map<string, JobDependency>();
  for (const { job, on } of dependencies) {
    const existing = merged.get(job);
    if (existing === undefined) merged.set(job, { job, on: [...on] });
    else for (const condition of on) if (!existing.on.includes(condition)) existing.on.push(condition);
  }
  return [...merged.values()];
}
