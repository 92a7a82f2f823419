/** Injection token for {@link AuthOptions} (optional: every field has a default). */
export const AUTH_OPTIONS = Symbol('AUTH_OPTIONS');

export interface AuthOptions {
  /** Allowed clock difference between clusters when checking `exp` and `nbf`. Default 30 s. */
  clockToleranceSeconds?: number;
  /** How long peers' public keys are kept before they are read from the database again. Default 60 s. */
  publicKeyCacheMs?: number;
  /** A token of an issuer not among the keys read makes them be read again only when they are this old. Default 1 s. */
  unknownIssuerRefreshMs?: number;
  /** Lifetime of a project token when the caller gives none. Default 30 days. */
  projectTokenTtlSeconds?: number;
  /** The clock, in milliseconds since the epoch (tests move it). Default `Date.now`. */
  now?: () => number;
}

export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
export const DEFAULT_PUBLIC_KEY_CACHE_MS = 60_000;
export const DEFAULT_UNKNOWN_ISSUER_REFRESH_MS = 1_000;
export const DEFAULT_PROJECT_TOKEN_TTL_SECONDS = 30 * 24 * 3600;
