/**
 * What a failed fetch() was: undici reports network errors as "fetch failed" with the reason
 * (ECONNREFUSED, …) in `cause`, sometimes an AggregateError of several; a timeout is an abort.
 */

/** Error codes of a fetch failure, outermost first. */
export function fetchFailureCodes(error: unknown): string[] {
  const codes: string[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (typeof value !== 'object' || value === null || depth > 4) return;
    const { code, cause, errors } = value as { code?: unknown; cause?: unknown; errors?: unknown };
    if (typeof code === 'string') codes.push(code);
    visit(cause, depth + 1);
    if (Array.isArray(errors)) for (const inner of errors) visit(inner, depth + 1);
  };
  visit(error, 0);
  return codes;
}

/** Whether the request was given up on because its time ran out (AbortSignal.timeout, or an abort). */
export function isFetchTimeout(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

/**
 * One short reason for a failed request: `no answer within N ms` for a timeout (when `timeoutMs`
 * is known), else the system error code (ECONNREFUSED, ENOTFOUND, …), else the underlying message
 * (undici's own codes, UND_ERR_SOCKET and the like, say less than its message: "other side closed").
 */
export function describeFetchFailure(error: unknown, timeoutMs?: number): string {
  if (isFetchTimeout(error) && timeoutMs !== undefined) return `no answer within ${timeoutMs} ms`;
  const code = fetchFailureCodes(error).find((c) => !c.startsWith('UND_ERR'));
  if (code !== undefined) return code;
  const cause = messageOf((error as { cause?: unknown } | null)?.cause);
  return cause || messageOf(error) || String(error);
}

/** An error's message (checked by shape: errors from another realm are no `instanceof Error`). */
function messageOf(value: unknown): string {
  const message = (value as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : '';
}
