import { BadRequestException, Inject, Injectable, Logger } from '@nestjs/common';
import {
  ensureRegistrySigningKey,
  grantedRegistryActions,
  Principal,
  projectOfRepository,
  type RegistryAccessFacts,
  signRegistryToken,
  type StoredRegistrySigningKey,
} from '@infrabox/auth';
import { CurrentCluster, INSTALL_CONFIG, type InstallConfig, registryCertificateFile, registryOf, registryTokenAuthOf } from '@infrabox/config';
import { JobImageRepository, JobStatsRepository, ProjectMemberRepository, ProjectRepository } from '@infrabox/jobs';
import { type RequestedScope, requestedScopes } from './registry-request.parser';
import type { RegistryTokenDto } from './registry-token.dto';

/** Lifetime of a registry token: a client asks again for each push or pull that outlives it. */
export const REGISTRY_TOKEN_TTL_SECONDS = 300;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What a client asked for: the query of `GET /api/v1/registry/token`. */
export interface RegistryTokenRequest {
  service?: unknown;
  scope?: unknown;
}

/**
 * Issues the bearer tokens of this cluster's registry (the token service of the Docker registry
 * token auth spec): for each requested scope, exactly the actions `grantedRegistryActions` grants
 * the caller, from what the database says about it (its project's name; for a peer, whether it
 * forwards the repository's project). What is not granted is left out of the token, and the
 * registry refuses it (401/403); the reasons go to the log.
 */
@Injectable()
export class RegistryTokenService {
  private readonly logger = new Logger('registry-token');
  private signingKey: Promise<StoredRegistrySigningKey> | undefined;

  constructor(
    @Inject(INSTALL_CONFIG) private readonly config: InstallConfig,
    private readonly cluster: CurrentCluster,
    private readonly projects: ProjectRepository,
    private readonly stats: JobStatsRepository,
    private readonly images: JobImageRepository,
    private readonly members: ProjectMemberRepository,
  ) {}

  async issue(principal: Principal, request: RegistryTokenRequest): Promise<RegistryTokenDto> {
    const auth = registryTokenAuthOf(this.config);
    this.checkService(request.service, auth.service);
    let scopes: RequestedScope[];
    try {
      scopes = requestedScopes(request.scope);
    } catch (error) {
      throw new BadRequestException((error as Error).message);
    }
    const subject = subjectOf(principal);
    const projectName = scopes.length > 0 ? await this.projectNameOf(principal) : undefined;
    const access: RequestedScope[] = [];
    for (const scope of scopes) {
      const facts: RegistryAccessFacts = { projectName, ...(await this.clusterFacts(principal, scope)), ...(await this.userFacts(principal, scope)) };
      const granted = grantedRegistryActions(principal, scope, facts);
      if (granted.refusal !== undefined) this.logger.log(`${subject}: ${granted.refusal}`);
      if (granted.actions.length > 0) access.push({ ...scope, actions: granted.actions });
    }
    const now = Date.now();
    const token = await signRegistryToken(await this.key(), {
      issuer: auth.issuer,
      service: auth.service,
      subject,
      access,
      ttlSeconds: REGISTRY_TOKEN_TTL_SECONDS,
      now,
    });
    return { token, access_token: token, expires_in: REGISTRY_TOKEN_TTL_SECONDS, issued_at: new Date(Math.floor(now / 1000) * 1000).toISOString() };
  }

  private checkService(service: unknown, expected: string): void {
    if (service === undefined || service === '') throw new BadRequestException(`service: required; this token service serves '${expected}'`);
    if (typeof service !== 'string') throw new BadRequestException('service: give it once, as text');
    if (service !== expected) throw new BadRequestException(`service: '${service.slice(0, 100)}' is not this cluster's registry; expected '${expected}'`);
  }

  /** The name of a job's or project token's project as the database has it (a token's claims are checked where it matters). */
  private async projectNameOf(principal: Principal): Promise<string | undefined> {
    if (principal.kind !== 'job' && principal.kind !== 'project') return undefined;
    if (!UUID.test(principal.projectId)) return undefined; // signed by a cluster, yet no project of ours
    return (await this.projects.findById(principal.projectId))?.name;
  }

  /** For a user who is no admin: whether they are a member of the repository's project. */
  private async userFacts(principal: Principal, scope: RequestedScope): Promise<Pick<RegistryAccessFacts, 'member'>> {
    if (principal.kind !== 'user' || principal.admin || scope.type !== 'repository') return {};
    const project = await this.projects.findByName(projectOfRepository(scope.name));
    return { member: project !== null && (await this.members.isMember(project.id, principal.username)) };
  }

  /**
   * For a cluster's token: whether it is this cluster's own; else, as the scope asks, whether the
   * peer forwards the repository's project (a job of it waits or runs there: pull) or delivers an
   * image a job here waits for (push).
   */
  private async clusterFacts(principal: Principal, scope: RequestedScope): Promise<Pick<RegistryAccessFacts, 'ownCluster' | 'peerForwards' | 'peerDelivers'>> {
    if (principal.kind !== 'cluster' || scope.type !== 'repository') return {};
    if (principal.cluster === this.cluster.name) return { ownCluster: true };
    const project = projectOfRepository(scope.name);
    const pushing = scope.actions.includes('push');
    return {
      peerForwards: scope.actions.includes('pull') && !pushing ? await this.stats.hasActiveJobOfProjectOn(principal.cluster, project) : undefined,
      peerDelivers: pushing ? await this.images.peerDelivers(principal.cluster, this.cluster.name, project) : undefined,
    };
  }

  /** This cluster's signing key: read (or created) on first use, then kept; a failure is tried again next time. */
  private key(): Promise<StoredRegistrySigningKey> {
    if (this.signingKey === undefined) {
      const keyFile = registryOf(this.config).signingKey;
      const loading = ensureRegistrySigningKey(keyFile, registryCertificateFile(keyFile), this.cluster.name);
      this.signingKey = loading;
      loading.catch(() => {
        if (this.signingKey === loading) this.signingKey = undefined;
      });
    }
    return this.signingKey;
  }
}

/** The token's `sub`: who asked, as the registry logs it. */
function subjectOf(principal: Principal): string {
  switch (principal.kind) {
    case 'job':
      return `job:${principal.jobId}`;
    case 'project':
      return `project:${principal.projectId}`;
    case 'cluster':
      return `cluster:${principal.cluster}`;
    case 'user':
      return `user:${principal.username}`;
    case 'admin':
      return `admin:${principal.issuer}`;
  }
}
