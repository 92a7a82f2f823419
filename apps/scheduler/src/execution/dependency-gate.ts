import { dependencySatisfied } from '@infrabox/job-definition';
import { FinalJobState, isFinal, ParentLink } from '@infrabox/jobs';

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
