import { ROUTES } from '@infrabox/contract';
import { probe } from '@infrabox/toolkit';

/** The outcome of one `GET <apiUrl>/health/live`. */
export interface HealthProbe {
  reachable: boolean;
  /** Round trip until the whole answer arrived; null when none did. */
  rttMs: number | null;
  error: string | null;
}

/** Probes a cluster's API. Never throws: every failure is a result. */
export async function probeHealth(apiUrl: string, timeoutMs: number): Promise<HealthProbe> {
  const result = await probe(`${apiUrl.replace(/\/+$/, '')}${ROUTES.health.live}`, { timeoutMs, redirect: 'manual' });
  return {
    reachable: result.ok,
    rttMs: result.rttMs,
    error: result.ok ? null : result.status === null ? result.error : `HTTP ${result.status} from ${ROUTES.health.live}`,
  };
}
