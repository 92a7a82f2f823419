export { backoffDelay, retry, sleep } from './backoff';
export { CommandFailure, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './command-failure';
export type { RetryOptions } from './backoff';
export { describeFetchFailure, fetchFailureCodes, isFetchTimeout } from './http/fetch-failure';
export { cappedText, discardBody, ERROR_BODY_LIMIT, HttpClient, HttpFailure, probe } from './http/http.client';
export type { HttpRequestInit, ProbeResult } from './http/http.client';
export { IdleWatch } from './http/idle-watch';
export { cappedMessageText, streamGet, streamPut } from './http/stream-transfer';
