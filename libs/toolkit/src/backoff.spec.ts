import { backoffDelay, retry } from './backoff';

describe('backoffDelay', () => {
  it('doubles from the base up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, 250, 3_000))).toEqual([250, 500, 1_000, 2_000, 3_000, 3_000]);
  });

  it('stays at the cap after many attempts, and treats attempt 0 as the first', () => {
    expect(backoffDelay(5_000, 200, 30_000)).toBe(30_000);
    expect(backoffDelay(0, 200, 30_000)).toBe(200);
  });
});

describe('retry', () => {
  it('answers the first success, having waited between the failures', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await retry(
      async (attempt) => {
        calls++;
        if (attempt < 3) throw new Error(`failure ${attempt}`);
        return 'ok';
      },
      { attempts: 5, baseMs: 1, maxMs: 2, onRetry: (_error, _attempt, delay) => delays.push(delay) },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(delays).toEqual([1, 2]);
  });

  it('throws the last error once the attempts ran out', async () => {
    let calls = 0;
    await expect(retry(async (attempt) => {
      calls++;
      throw new Error(`failure ${attempt}`);
    }, { attempts: 3, baseMs: 1, maxMs: 1 })).rejects.toThrow('failure 3');
    expect(calls).toBe(3);
  });

  it('gives up at once on a failure that is not retryable', async () => {
    let calls = 0;
    await expect(retry(async () => {
      calls++;
      throw new Error('refused');
    }, { attempts: 5, baseMs: 1, maxMs: 1, retryable: () => false })).rejects.toThrow('refused');
    expect(calls).toBe(1);
  });
});
