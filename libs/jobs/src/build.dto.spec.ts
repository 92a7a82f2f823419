import { buildState } from './build.dto';

describe('buildState', () => {
  it.each([
    [{ queued: 2 }, 'queued'],
    [{ queued: 1, running: 1, finished: 3 }, 'running'],
    [{ scheduled: 1, error: 1 }, 'running'],
    [{ finished: 2, queued: 1 }, 'queued'],
    [{ finished: 3 }, 'finished'],
    [{ finished: 1, skipped: 2 }, 'finished'],
    [{ finished: 1, unstable: 1 }, 'unstable'],
    [{ finished: 1, killed: 1, failure: 1 }, 'failure'],
    [{ failure: 1, error: 1 }, 'error'],
    [{}, 'finished'],
  ] as const)('%j → %s', (counts, expected) => {
    expect(buildState(counts)).toBe(expected);
  });
});
