import { ROUTES } from '@infrabox/contract';
import { probe, sleep } from '@infrabox/toolkit';

const PROBE_TIMEOUT_MS = 2_000;

/** True when `GET <url>/health/ready` answers 200. */
export async function isApiReady(url: string): Promise<boolean> {
  return (await probe(`${url}${ROUTES.health.ready}`, { timeoutMs: PROBE_TIMEOUT_MS, accept: (status) => status === 200 })).ok;
}

/** Polls until every URL is ready by `probe` (true) or `cancelled()` holds (false); `onReady` is told of each as it gets ready. */
export async function waitUntilReady(
  urls: readonly string[],
  cancelled: () => boolean,
  intervalMs = 500,
  probe: (url: string) => Promise<boolean> = isApiReady,
  onReady: (url: string) => void = () => undefined,
): Promise<boolean> {
  const pending = new Set(urls);
  while (pending.size > 0) {
    if (cancelled()) return false;
    for (const url of [...pending]) {
      if (!(await probe(url))) continue;
      pending.delete(url);
      onReady(url);
    }
    if (pending.size > 0) await sleep(intervalMs);
  }
  return !cancelled();
}
