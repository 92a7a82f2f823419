import { setTimeout as delay } from 'node:timers/promises';
import { Inject, Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { decodeJwt, decodeProtectedHeader, errors, importJWK, JWK, JWTPayload, jwtVerify, KeyLike, SignJWT } from 'jose';
import { CurrentCluster, MASTER_CLUSTER } from '@infrabox/config';
import {
  AUTH_OPTIONS,
  AuthOptions,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_PROJECT_TOKEN_TTL_SECONDS,
  DEFAULT_PUBLIC_KEY_CACHE_MS,
  DEFAULT_UNKNOWN_ISSUER_REFRESH_MS,
} from './auth.options';
import { ClusterKeyService, publicPart, TOKEN_ALGORITHM } from './cluster-key.service';
import { InvalidTokenError, JobTokenSubject, NotTheIssuerError, Principal } from './principal.types';
import { TokenFactsRepository } from './token-facts.repository';

/** How long a login lasts: a working day, then the user logs in again. */
export const USER_TOKEN_TTL_SECONDS = 12 * 3600;

/** Longer than any token we issue (a job token with many parents is still a few KB). */
const MAX_TOKEN_LENGTH = 16 * 1024;

/** Every cluster's pinned public key as one read gave them; null: pinned but unusable. */
interface KeySnapshot {
  readAt: number;
  keys: Map<string, KeyLike | null>;
}

/**
 * Issues and verifies this cluster's tokens. Every token is a JWT signed (EdDSA) with the key of
 * the cluster that issued it (`iss`); verification uses that cluster's public key pinned in the
 * database, so a token issued on cluster A is accepted on cluster B without a shared secret.
 *
 * Who may issue what: admin and project tokens only the master; a job token only the cluster
 * the job is placed on, while the job has not ended, its parents read from the database (not
 * from the claim); a cluster token only an enabled, active cluster, for the one audience.
 *
 * Claims (besides `iss`, `sub`, `iat`, `nbf`, `exp`):
 * - job:     `sub: job:<id>`, `{ kind: 'job', jobId, buildId, projectId, parents }`
 * - cluster: `sub: cluster:<issuer>`, `aud: <peer cluster>`, `{ kind: 'cluster' }`
 * - project: `sub: project:<id>`, `{ kind: 'project', projectId, projectName }`
 * - user:    `sub: user:<username>`, `{ kind: 'user', username, admin }`
 * - admin:   `sub: admin:<issuer>`, `{ kind: 'admin' }`
 */
@Injectable()
export class TokenService implements OnModuleInit {
  /** This cluster's name: the issuer of its tokens and the audience it accepts cluster tokens for. */
  readonly cluster: string;
  private readonly clockTolerance: number;
  private readonly cacheMs: number;
  private readonly unknownIssuerRefreshMs: number;
  private readonly projectTtl: number;
  private readonly now: () => number;
  private snapshot: KeySnapshot | undefined;
  private reading: Promise<KeySnapshot> | undefined;

  constructor(
    cluster: CurrentCluster,
    private readonly keys: ClusterKeyService,
    private readonly facts: TokenFactsRepository,
    @Optional() @Inject(AUTH_OPTIONS) options: AuthOptions | null = null,
  ) {
    this.cluster = cluster.name;
    this.clockTolerance = options?.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
    this.cacheMs = options?.publicKeyCacheMs ?? DEFAULT_PUBLIC_KEY_CACHE_MS;
    this.unknownIssuerRefreshMs = options?.unknownIssuerRefreshMs ?? DEFAULT_UNKNOWN_ISSUER_REFRESH_MS;
    this.projectTtl = options?.projectTokenTtlSeconds ?? DEFAULT_PROJECT_TOKEN_TTL_SECONDS;
    this.now = options?.now ?? Date.now;
  }

  /** Creates (or loads) and publishes the key at start-up rather than on the first request. */
  async onModuleInit(): Promise<void> {
    await this.keys.signingKey();
  }

  /** This cluster is the master: the issuer of admin and project tokens. */
  get issuesUserTokens(): boolean {
    return this.cluster === MASTER_CLUSTER;
  }

  /** A token for one job: it may read its own source and inputs, write its own output, read its direct parents' outputs. */
  async issueJobToken(job: JobTokenSubject, ttlSeconds: number): Promise<string> {
    requireText('job.id', job.id);
    requireText('job.buildId', job.buildId);
    requireText('job.projectId', job.projectId);
    if (!Array.isArray(job.parentIds)) throw new TypeError('job.parentIds: expected a list of job ids');
    job.parentIds.forEach((parent, index) => requireText(`job.parentIds[${index}]`, parent));
    return this.sign(
      { kind: 'job', jobId: job.id, buildId: job.buildId, projectId: job.projectId, parents: [...job.parentIds] },
      `job:${job.id}`,
      ttlSeconds,
    );
  }

  /** A token for calling the API of peer cluster `audience` as this cluster; accepted only there. */
  async issueClusterToken(audience: string, ttlSeconds = 300): Promise<string> {
    requireText('audience', audience);
    return this.sign({ kind: 'cluster' }, `cluster:${this.cluster}`, ttlSeconds, audience);
  }

  /** A token for a user of one project (handed to the CLI); 30 days unless told otherwise. */
  async issueProjectToken(projectId: string, projectName: string, ttlSeconds: number = this.projectTtl): Promise<string> {
    if (!this.issuesUserTokens) throw new NotTheIssuerError('project', this.cluster);
    requireText('projectId', projectId);
    requireText('projectName', projectName);
    return this.sign({ kind: 'project', projectId, projectName }, `project:${projectId}`, ttlSeconds);
  }

  /** A token for a user who logged in (see {@link UserPrincipal}); `admin` as the master's config names them. */
  async issueUserToken(username: string, admin: boolean, ttlSeconds: number = USER_TOKEN_TTL_SECONDS): Promise<string> {
    if (!this.issuesUserTokens) throw new NotTheIssuerError('user', this.cluster);
    requireText('username', username);
    return this.sign({ kind: 'user', username, admin }, `user:${username}`, ttlSeconds);
  }

  /** A token for an operator of the installation (see {@link AdminPrincipal}): whoever can call this holds the master's key file. */
  async issueAdminToken(ttlSeconds: number): Promise<string> {
    if (!this.issuesUserTokens) throw new NotTheIssuerError('admin', this.cluster);
    return this.sign({ kind: 'admin' }, `admin:${this.cluster}`, ttlSeconds);
  }

  /**
   * The principal of a valid token. Throws {@link InvalidTokenError} for a malformed, tampered,
   * expired or not-yet-valid token, an unknown issuer, an issuer that may not issue its kind, a
   * cluster token meant for another cluster or of a disabled or lost cluster, a job token of an
   * ended job, or claims that do not fit their kind or the database. Database errors propagate.
   */
  async verify(token: string): Promise<Principal> {
    if (typeof token !== 'string' || token === '') throw new InvalidTokenError('missing token');
    if (token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError('token too long');
    let issuer: unknown;
    try {
      if (decodeProtectedHeader(token).alg !== TOKEN_ALGORITHM) throw new InvalidTokenError('unsupported algorithm');
      issuer = decodeJwt(token).iss;
    } catch (error) {
      if (error instanceof InvalidTokenError) throw error;
      throw new InvalidTokenError('malformed token');
    }
    if (typeof issuer !== 'string' || issuer === '') throw new InvalidTokenError('missing issuer');

    const key = await this.verificationKey(issuer);
    if (!key) throw new InvalidTokenError('unknown issuer');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [TOKEN_ALGORITHM],
        issuer,
        clockTolerance: this.clockTolerance,
        currentDate: new Date(this.now()),
        requiredClaims: ['iss', 'sub', 'iat', 'exp'],
      }));
    } catch (error) {
      throw new InvalidTokenError(reasonOf(error));
    }
    return this.principalOf(issuer, payload);
  }

  private async sign(claims: Record<string, unknown>, subject: string, ttlSeconds: number, audience?: string): Promise<string> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
      throw new RangeError(`ttlSeconds: expected a positive whole number of seconds, got ${ttlSeconds}`);
    }
    const { privateKey } = await this.keys.signingKey();
    const now = Math.floor(this.now() / 1000);
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: 'JWT' })
      .setIssuer(this.cluster)
      .setSubject(subject)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + ttlSeconds);
    if (audience !== undefined) jwt.setAudience(audience);
    return jwt.sign(privateKey);
  }

  /**
   * The public key of `issuer`: our own from memory, a peer's from the pinned keys read all at
   * once and kept for `publicKeyCacheMs`. For an issuer not among them (a cluster that just
   * started, or a made-up one) the keys are read again once they are `unknownIssuerRefreshMs`
   * old, by one read that every such request waits for: forged tokens with made-up issuers cost
   * at most one query per that time, whatever their number.
   */
  private async verificationKey(issuer: string): Promise<KeyLike | null> {
    if (issuer === this.cluster) return (await this.keys.signingKey()).publicKey;
    const key = (await this.keysFor(issuer)).keys.get(issuer);
    if (key === null) throw new InvalidTokenError('issuer key unusable');
    return key ?? null;
  }

  private async keysFor(issuer: string): Promise<KeySnapshot> {
    const snapshot = this.snapshot;
    const age = snapshot === undefined ? Infinity : this.now() - snapshot.readAt;
    if (snapshot === undefined || age >= this.cacheMs) return this.readKeys();
    if (snapshot.keys.has(issuer)) return snapshot;
    if (age < this.unknownIssuerRefreshMs) await delay(this.unknownIssuerRefreshMs - age);
    // Whoever waited on the same snapshot shares one read (readKeys reads once at a time).
    return this.snapshot !== snapshot ? this.snapshot! : this.readKeys();
  }

  /** One read of every pinned key at a time; a failed read is not kept. */
  private readKeys(): Promise<KeySnapshot> {
    if (!this.reading) {
      const readAt = this.now();
      const reading = this.keys.pinnedKeys().then(async (pinned) => {
        const entries = await Promise.all([...pinned].map(async ([cluster, jwk]) => [cluster, await importPublicKey(jwk)] as const));
        const snapshot: KeySnapshot = { readAt, keys: new Map(entries) };
        this.snapshot = snapshot;
        return snapshot;
      });
      this.reading = reading;
      const done = () => {
        if (this.reading === reading) this.reading = undefined;
      };
      reading.then(done, done);
    }
    return this.reading;
  }

  private async principalOf(issuer: string, payload: JWTPayload): Promise<Principal> {
    switch (payload.kind) {
      case 'job': {
        const { jobId, buildId, projectId, parents } = payload;
        if (!isText(jobId) || !isText(buildId) || !isText(projectId) || !Array.isArray(parents) || !parents.every(isText)) {
          throw new InvalidTokenError('malformed job claims');
        }
        if (payload.sub !== `job:${jobId}`) throw new InvalidTokenError('subject does not match the job');
        const job = await this.facts.jobFacts(jobId);
        if (!job) throw new InvalidTokenError('unknown job');
        if (job.cluster !== issuer) throw new InvalidTokenError(`job ${jobId} is not placed on the issuer ${issuer}`);
        if (job.buildId !== buildId || job.projectId !== projectId) throw new InvalidTokenError('job claims do not match the job');
        if (job.ended) throw new InvalidTokenError(`job ${jobId} has ended`);
        return { kind: 'job', jobId, buildId, projectId, parents: job.parents, issuer };
      }
      case 'cluster': {
        if (payload.sub !== `cluster:${issuer}`) throw new InvalidTokenError('subject does not match the issuer');
        const audience = payload.aud;
        const audiences = typeof audience === 'string' ? [audience] : Array.isArray(audience) ? audience : [];
        if (!audiences.includes(this.cluster)) throw new InvalidTokenError('wrong audience');
        const standing = await this.facts.clusterStanding(issuer);
        if (!standing) throw new InvalidTokenError(`cluster ${issuer} is not registered`);
        if (!standing.enabled) throw new InvalidTokenError(`cluster ${issuer} is disabled`);
        if (!standing.active) throw new InvalidTokenError(`cluster ${issuer} is lost (no heartbeat)`);
        return { kind: 'cluster', cluster: issuer };
      }
      case 'project': {
        const { projectId, projectName } = payload;
        if (!isText(projectId) || !isText(projectName)) throw new InvalidTokenError('malformed project claims');
        if (payload.sub !== `project:${projectId}`) throw new InvalidTokenError('subject does not match the project');
        if (issuer !== MASTER_CLUSTER) throw new InvalidTokenError(`project tokens are issued by the master only, not by ${issuer}`);
        return { kind: 'project', projectId, projectName };
      }
      case 'user': {
        const { username, admin } = payload;
        if (!isText(username) || typeof admin !== 'boolean') throw new InvalidTokenError('malformed user claims');
        if (payload.sub !== `user:${username}`) throw new InvalidTokenError('subject does not match the user');
        if (issuer !== MASTER_CLUSTER) throw new InvalidTokenError(`user tokens are issued by the master only, not by ${issuer}`);
        return { kind: 'user', username, admin };
      }
      case 'admin': {
        if (payload.sub !== `admin:${issuer}`) throw new InvalidTokenError('subject does not match the issuer');
        if (issuer !== MASTER_CLUSTER) throw new InvalidTokenError(`admin tokens are issued by the master only, not by ${issuer}`);
        return { kind: 'admin', issuer };
      }
      default:
        throw new InvalidTokenError('unknown token kind');
    }
  }
}

/** The key of a pinned JWK; null when it is not a usable Ed25519 public key. */
async function importPublicKey(jwk: JWK): Promise<KeyLike | null> {
  const publicJwk = publicPart(jwk);
  if (!publicJwk) return null;
  return importJWK(publicJwk, TOKEN_ALGORITHM).then(
    (key) => key as KeyLike,
    () => null,
  );
}

function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'token not yet valid';
    return error.reason === 'missing' ? `${error.claim} claim missing` : `${error.claim} claim invalid`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'unsupported algorithm';
  return 'malformed token';
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function requireText(name: string, value: unknown): void {
  if (!isText(value)) throw new TypeError(`${name}: expected a non-empty string`);
}
