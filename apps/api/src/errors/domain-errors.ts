import { InvalidTokenError, NotTheIssuerError } from '@infrabox/auth';
import { ArchiveLimitError } from '@infrabox/archive';

/** How a domain error of the libraries answers an HTTP request. */
export interface DomainErrorAnswer {
  status: number;
  message: string;
  /** `WWW-Authenticate` to send when the route has not set its own challenge. */
  challenge?: string;
}

export const BEARER_CHALLENGE = 'Bearer realm="infrabox"';

/**
 * The one mapping of domain errors to HTTP: services and guards throw what went wrong in their
 * own terms, and the exception filter answers with this. Anything else is a 500.
 */
export function answerForDomainError(error: unknown): DomainErrorAnswer | null {
  if (error instanceof InvalidTokenError) return { status: 401, message: `invalid token: ${error.reason}`, challenge: BEARER_CHALLENGE };
  if (error instanceof NotTheIssuerError) return { status: 403, message: `${error.message}: ask the master's api` };
  if (error instanceof ArchiveLimitError) return { status: 413, message: error.message };
  return null;
}
