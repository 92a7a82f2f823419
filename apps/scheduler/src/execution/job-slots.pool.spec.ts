import type { JobWithParents } from '@infrabox/jobs';
import { JobSlots } from './job-slots.pool';

describe('JobSlots', () => {
  const options = { workRoot: '/tmp', maxParallelJobs: 2, sweepIntervalMs: 5_000, unplacedAfterSeconds: 5 };
  const found = (id: string) => ({ job: { id }, parents: [], source: { required: false, here: false } }) as unknown as JobWithParents;

  it('gives waiting jobs back, first come first, only as many as there are free slots', () => {
    const slots = new JobSlots(options);
    slots.hold('a');
    for (const id of ['w1', 'w2', 'w3']) slots.waitForSlot(found(id));
    expect(slots.takeWaiting().map((f) => f.job.id)).toEqual(['w1']);
    slots.hold('b');
    expect(slots.full).toBe(true);
    expect(slots.takeWaiting()).toEqual([]);
    slots.release('a');
    slots.release('b');
    expect(slots.takeWaiting().map((f) => f.job.id)).toEqual(['w2', 'w3']);
  });

  it('wakes the waiting when a held job ends, not when a claim comes back empty', () => {
    const slots = new JobSlots(options);
    const freed = jest.fn();
    slots.whenFreed(freed);
    slots.hold('a');
    slots.release('a');
    expect(freed).not.toHaveBeenCalled();
    slots.hold('b');
    expect(slots.launch('b')).toBe(true);
    slots.end('b');
    expect(freed).toHaveBeenCalledTimes(1);
    expect([slots.size, slots.launchedCount, slots.wasLaunched('b')]).toEqual([0, 0, false]);
  });

  it('launches nothing once stopped, and drops the waiting jobs', () => {
    const slots = new JobSlots(options);
    slots.waitForSlot(found('w1'));
    slots.hold('a');
    slots.stop();
    expect(slots.launch('a')).toBe(false);
    expect(slots.wasLaunched('a')).toBe(false);
    expect(slots.takeWaiting()).toEqual([]);
  });
});
