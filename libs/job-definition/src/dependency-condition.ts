import type { DependencyCondition, JobEndState } from './build-definition.types';

/**
 * Whether a parent that ended in `parentState` lets its child start, given the
 * child's `on` conditions for that parent (the scheduler's gate; a child whose
 * gate is closed for an ended parent is skipped).
 *
 * As in InfraBox, `*` means "any end state": it is satisfied by every final
 * state, including `killed` and `skipped`, so clean-up jobs still run. The
 * other conditions match exactly one state of the same name; `killed` and
 * `skipped` parents therefore only satisfy `*`.
 */
export function dependencySatisfied(on: readonly DependencyCondition[], parentState: JobEndState): boolean {
  return on.some((condition) => condition === '*' || condition === parentState);
}
