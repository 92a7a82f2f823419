/** What a verified token says about its bearer. */
export type Principal = JobPrincipal | ClusterPrincipal | ProjectPrincipal | UserPrincipal | AdminPrincipal;
export type PrincipalKind = Principal['kind'];
export const PRINCIPAL_KINDS: readonly PrincipalKind[] = ['job', 'cluster', 'project', 'user', 'admin'];

/** A running job: its own source, inputs and output, and the outputs of its direct parents. */
export interface JobPrincipal {
  kind: 'job';
  jobId: string;
  buildId: string;
  projectId: string;
  /** Ids of the job's direct parents (not grandparents). */
  parents: string[];
  /** The cluster that issued the token (the one the job runs on). */
  issuer: string;
}

/** A peer cluster calling this cluster's API (to fetch or push outputs and sources). */
export interface ClusterPrincipal {
  kind: 'cluster';
  /** The calling cluster: always the token's issuer, so a cluster can only speak for itself. */
  cluster: string;
}

/** A user of one project (`infrabox push`, reading its builds and jobs). */
export interface ProjectPrincipal {
  kind: 'project';
  projectId: string;
  projectName: string;
}

/**
 * A person logged in through the OpenID provider (the dashboard, `infrabox login`): sees and
 * pushes the projects they are a member of, or every project when the master's config names
 * them in `auth.admins` — an admin user may then call every route an admin token may.
 */
export interface UserPrincipal {
  kind: 'user';
  /** As the provider names them (the `auth.oidc.username_claim` of their ID token). */
  username: string;
  admin: boolean;
}

/** An admin token, or a user the master's config names an admin. */
export function isAdmin(principal: Principal): boolean {
  return principal.kind === 'admin' || (principal.kind === 'user' && principal.admin);
}

/**
 * An operator of the installation: mints project tokens, enables and disables clusters, and may
 * act on every project. Only the master issues one: whoever holds its key file
 * (`infrabox admin token` with the master's config).
 */
export interface AdminPrincipal {
  kind: 'admin';
  /** The cluster whose key signed the token (the master). */
  issuer: string;
}

/** The job a job token is issued for. */
export interface JobTokenSubject {
  id: string;
  buildId: string;
  projectId: string;
  /** Ids of its direct parents. */
  parentIds: readonly string[];
}

/** Why a token was refused, in a few words meant for the caller (never a stack or a key). */
export class InvalidTokenError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'InvalidTokenError';
  }
}

/** This cluster may not issue tokens of this kind: admin and project tokens come from the master only. */
export class NotTheIssuerError extends Error {
  constructor(
    readonly kind: 'admin' | 'project' | 'user',
    readonly cluster: string,
  ) {
    super(`${kind} tokens are issued by the master cluster only, not by cluster '${cluster}'`);
    this.name = 'NotTheIssuerError';
  }
}
