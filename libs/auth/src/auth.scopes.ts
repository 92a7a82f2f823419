import { ForbiddenException } from '@nestjs/common';
import { JobPrincipal, Principal } from './principal.types';

/*
 * Scope checks a controller makes after `@Authenticated(...)` let the caller in. Each throws a
 * 403 `{ statusCode, message }` when the principal may not act on the resource.
 */

function forbidden(message: string): ForbiddenException {
  return new ForbiddenException({ statusCode: 403, message });
}

/** A job token may read its own output (to re-read what it wrote) and those of its DIRECT parents, nothing else. */
export function assertJobMayReadOutputOf(principal: Principal, jobId: string): asserts principal is JobPrincipal {
  if (principal.kind !== 'job') throw forbidden(`only a job token is scoped to job outputs, not a ${principal.kind} token`);
  if (principal.jobId === jobId || principal.parents.includes(jobId)) return;
  throw forbidden(`job ${principal.jobId} may read outputs of its direct parents only`);
}

/** A job token acts on its own job only (its source, inputs, and writing its output). */
export function assertOwnJob(principal: Principal, jobId: string): asserts principal is JobPrincipal {
  if (principal.kind !== 'job') throw forbidden(`only a job token is scoped to a job, not a ${principal.kind} token`);
  if (principal.jobId !== jobId) throw forbidden(`job ${principal.jobId} may act on its own job only`);
}
