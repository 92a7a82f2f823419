import { Inject, Injectable, Logger } from '@nestjs/common';
import { CurrentCluster, haOf, InjectInstallConfig, InstallConfig } from '@infrabox/config';
import { Cluster, ClusterReachability, ClusterReachabilityRepository, ClusterRepository } from '@infrabox/clusters';
import { LeaderDuty, LeaderDutyHost } from '@infrabox/app-runtime';
import { Database } from '@infrabox/database';
import { REGISTRY_OPTIONS, RegistryOptions } from '../registry.options';
import { probeHealth } from './health.probe';

/**
 * Measures whether this cluster reaches every other active cluster's API, for the output
 * forwarder to choose pull or push. Results go to `cluster_reachability` (from = this cluster).
 * Of the registry replicas of a cluster, one probes (LeaderDuty); another takes over within a
 * quarter of the lease (`ha.lease_seconds`) when it dies.
 */
@Injectable()
export class ReachabilityService extends LeaderDutyHost {
  private readonly logger = new Logger('reachability');
  protected override readonly duty: LeaderDuty;
  /** Last known reachability per target, to log changes rather than every probe. */
  private readonly known = new Map<string, boolean>();

  constructor(
    @InjectInstallConfig() config: InstallConfig,
    private readonly cluster: CurrentCluster,
    private readonly clusters: ClusterRepository,
    private readonly reachability: ClusterReachabilityRepository,
    @Inject(REGISTRY_OPTIONS) private readonly options: RegistryOptions,
    db: Database,
  ) {
    super();
    this.duty = new LeaderDuty({
      name: `reachability probes of cluster '${cluster.name}'`,
      databaseUrl: db.url,
      intervalMs: options.probeIntervalMs,
      takeOverMs: Math.max(100, Math.floor(haOf(config).leaseMs / 4)),
      applicationName: `registry@${cluster.name} probe leader`,
      work: () => this.probeAll(),
      logger: this.logger,
    });
  }

  /** Probes every other active cluster at once and records each result. */
  async probeAll(): Promise<ClusterReachability[]> {
    const self = this.cluster.name;
    const targets = (await this.clusters.findAll()).filter((cluster) => cluster.active && cluster.name !== self);
    const results = await Promise.all(targets.map((target) => this.probe(target)));
    return results.filter((result): result is ClusterReachability => result !== null);
  }

  private async probe(target: Cluster): Promise<ClusterReachability | null> {
    const from = this.cluster.name;
    const probe = await probeHealth(target.apiUrl, this.options.probeTimeoutMs);
    try {
      const recorded = await this.reachability.record({ from, to: target.name, ...probe });
      this.logChange(target, recorded);
      return recorded;
    } catch (error) {
      // The target's row was deleted between the read and the write, or the database is away.
      this.logger.warn(`cluster '${from}' could not record its probe of '${target.name}': ${(error as Error).message}`);
      return null;
    }
  }

  private logChange(target: Cluster, result: ClusterReachability): void {
    if (this.known.get(target.name) === result.reachable) return;
    this.known.set(target.name, result.reachable);
    const route = `cluster '${result.from}' → '${target.name}' (${target.apiUrl})`;
    if (result.reachable) this.logger.log(`${route}: reachable, ${result.rttMs?.toFixed(1)} ms`);
    else this.logger.warn(`${route}: unreachable: ${result.error}`);
  }
}
