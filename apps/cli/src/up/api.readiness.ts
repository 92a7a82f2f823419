const PROBE_TIMEOUT_MS = 2_000;

/** True when `GET <url>/health/ready` answers 200. */
export async function isApiReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await response.arrayBuffer().catch(() => undefined);
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Polls until every URL is ready (true) or `cancelled()` holds (false). */
export async function waitUntilReady(urls: readonly string[], cancelled: () => boolean, intervalMs = 500): Promise<boolean> {
  const pending = new Set(urls);
  while (pending.size > 0) {
    if (cancelled()) return false;
    for (const url of [...pending]) if (await isApiReady(url)) pending.delete(url);
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return !cancelled();
}
