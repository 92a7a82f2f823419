/** Timings of the output-forwarder; tests shorten them. */
export interface ForwarderOptions {
  /** Attempts per transfer (each resumes a cut download where it stopped). */
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** A peer that sends nothing for this long: the request is cut (and resumed or retried). From the config's timeouts.transfer_idle. */
  idleTimeoutMs: number;
}

export const FORWARDER_OPTIONS = Symbol('FORWARDER_OPTIONS');

export const DEFAULT_FORWARDER_OPTIONS: Readonly<ForwarderOptions> = {
  maxAttempts: 6,
  retryBaseMs: 250,
  retryMaxMs: 10_000,
  idleTimeoutMs: 30_000,
};
