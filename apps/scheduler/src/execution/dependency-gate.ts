import { dependencySatisfied } from '@infrabox/job-definition';
import { FinalJobState, isFinal, JobWithParents, ParentLink } from '@infrabox/jobs';

export type GateVerdict = { kind: 'wait' } | { kind: 'skip'; message: string } | { kind: 'ready' };

/**
 * Whether a queued job may run: every parent must have ended in a state its `on` accepts. A job
 * whose condition can no longer be met is skipped, naming the parent that decided it.
 */
export function judgeDependencies(parents: readonly ParentLink[]): GateVerdict {
  if (parents.some((p) => !isFinal(p.parentState))) return { kind: 'wait' };
  for (const parent of parents) {
    if (!dependencySatisfied(parent.on, parent.parentState as FinalJobState)) {
      return {
        kind: 'skip',
        message: `skipped: parent '${parent.parentName}' ended '${parent.parentState}', this job runs on [${parent.on.join(', ')}]`,
      };
    }
  }
  return { kind: 'ready' };
}

/**
 * Whether a queued job may run now: its dependencies (above), then what it reads on its
 * cluster. Each of those waits ends with an event that wakes the job again.
 */
export function judgeReadiness({ parents, source }: JobWithParents): GateVerdict {
  const verdict = judgeDependencies(parents);
  if (verdict.kind !== 'ready') return verdict;
  // A parent's output still on another cluster: job.inputs.ready wakes the job once it is here.
  if (parents.some((p) => (p.outputSize ?? 0) > 0 && !p.outputHere)) return { kind: 'wait' };
  // The image a parent built not yet in this cluster's registry: job.inputs.ready wakes the job once it is.
  if (parents.some((p) => p.imageWanted && !p.imageHere)) return { kind: 'wait' };
  // The build's source not yet on this cluster: build.source.ready wakes the job once it is here.
  if (source.required && !source.here) return { kind: 'wait' };
  return verdict;
}
