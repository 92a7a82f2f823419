import type { DependencyCondition } from '@infrabox/job-definition';
import { FINAL_STATES, FinalJobState, Job, JobState, ParentLink } from '@infrabox/jobs';
import { judgeDependencies, judgeReadiness } from './dependency-gate';

const parent = (state: JobState, on: DependencyCondition[] = ['finished'], name = 'p'): ParentLink => ({
  parentId: `${name}-id`,
  parentName: name,
  parentState: state,
  parentCluster: 'c',
  on,
  outputSize: null,
  outputHere: false,
  imageWanted: false,
  imageHere: false,
});

describe('judgeDependencies', () => {
  it('waits while any parent has not ended', () => {
    for (const state of ['queued', 'scheduled', 'running'] as const) {
      expect(judgeDependencies([parent('finished'), parent(state, ['*'], 'q')])).toEqual({ kind: 'wait' });
    }
  });

  it('is ready with no parents', () => {
    expect(judgeDependencies([])).toEqual({ kind: 'ready' });
  });

  const conditions: DependencyCondition[] = ['finished', 'error', 'failure', 'unstable', '*'];
  for (const on of conditions) {
    for (const state of FINAL_STATES as FinalJobState[]) {
      const runs = on === '*' || on === state;
      it(`on [${on}] with a parent that ended '${state}' → ${runs ? 'ready' : 'skip'}`, () => {
        const verdict = judgeDependencies([parent(state, [on])]);
        expect(verdict).toEqual(
          runs ? { kind: 'ready' } : { kind: 'skip', message: `skipped: parent 'p' ended '${state}', this job runs on [${on}]` },
        );
      });
    }
  }

  it('needs every parent satisfied', () => {
    expect(judgeDependencies([parent('finished'), parent('failure', ['error', 'failure'], 'q')])).toEqual({ kind: 'ready' });
    expect(judgeDependencies([parent('finished'), parent('failure', ['finished'], 'q')]).kind).toBe('skip');
  });
});

describe('judgeReadiness', () => {
  const job = { id: 'j', state: 'queued', cluster: 'c' } as Job;
  const noSource = { required: false, here: false };

  it('waits for a parent’s output, a parent’s image and the build’s source to be on the job’s cluster', () => {
    expect(judgeReadiness({ job, parents: [{ ...parent('finished'), outputSize: 10, outputHere: false }], source: noSource })).toEqual({ kind: 'wait' });
    expect(judgeReadiness({ job, parents: [{ ...parent('finished'), imageWanted: true, imageHere: false }], source: noSource })).toEqual({ kind: 'wait' });
    expect(judgeReadiness({ job, parents: [], source: { required: true, here: false } })).toEqual({ kind: 'wait' });
  });

  it('is ready once they are, and skips before waiting for inputs', () => {
    const here = { ...parent('finished'), outputSize: 10, outputHere: true, imageWanted: true, imageHere: true };
    expect(judgeReadiness({ job, parents: [here], source: { required: true, here: true } })).toEqual({ kind: 'ready' });
    expect(judgeReadiness({ job, parents: [{ ...parent('failure'), outputSize: 10 }], source: noSource })).toEqual(expect.objectContaining({ kind: 'skip' }));
  });
});
