import { DEPENDENCY_CONDITIONS, JOB_END_STATES, type DependencyCondition, type JobEndState } from './build-definition.types';
import { dependencySatisfied } from './dependency-condition';

// Which parent end states open the gate, per condition.
const EXPECTED: Record<DependencyCondition, JobEndState[]> = {
  finished: ['finished'],
  error: ['error'],
  failure: ['failure'],
  unstable: ['unstable'],
  '*': ['finished', 'failure', 'error', 'killed', 'skipped', 'unstable'],
};

describe('dependencySatisfied', () => {
  const cases = DEPENDENCY_CONDITIONS.flatMap((condition) =>
    JOB_END_STATES.map((state) => [condition, state, EXPECTED[condition].includes(state)] as const),
  );

  it.each(cases)('on [%s] with parent %s → %s', (condition, state, satisfied) => {
    expect(dependencySatisfied([condition], state)).toBe(satisfied);
  });

  it('is satisfied when any listed condition matches', () => {
    expect(dependencySatisfied(['failure', 'error'], 'error')).toBe(true);
    expect(dependencySatisfied(['failure', 'error'], 'finished')).toBe(false);
  });

  it('is never satisfied by an empty condition list', () => {
    expect(JOB_END_STATES.some((state) => dependencySatisfied([], state))).toBe(false);
  });
});
