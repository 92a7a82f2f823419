/** The outcome of one `GET <apiUrl>/health/live`. */
export interface HealthProbe {
  reachable: boolean;
  /** Round trip until the whole answer arrived; null when none did. */
  rttMs: number | null;
  error: string | null;
}

/** Probes a cluster's API. Never throws: every failure is a result. */
export async function probeHealth(apiUrl: string, timeoutMs: number): Promise<HealthProbe> {
  const started = performance.now();
  try {
    const response = await fetch(`${apiUrl.replace(/\/+$/, '')}/health/live`, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
    });
    await response.arrayBuffer();
    const rttMs = performance.now() - started;
    return response.ok
      ? { reachable: true, rttMs, error: null }
      : { reachable: false, rttMs, error: `HTTP ${response.status} from /health/live` };
  } catch (error) {
    return { reachable: false, rttMs: null, error: describeFailure(error, timeoutMs) };
  }
}

/** fetch() reports network errors as "fetch failed" with the reason (ECONNREFUSED, …) in `cause`. */
function describeFailure(error: unknown, timeoutMs: number): string {
  const failure = error as { name?: string; message?: string; cause?: { code?: string; message?: string } } | undefined;
  if (failure?.name === 'TimeoutError' || failure?.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  return failure?.cause?.message || failure?.cause?.code || failure?.message || String(error);
}
