import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { CurrentCluster } from '@infrabox/config';
import { PgEventClient } from '@infrabox/events';
import { Cluster, CLUSTER_LOST, ClusterLostEvent, ClusterRepository } from '@infrabox/clusters';
import { Database, LeaderLock } from '@infrabox/database';
import { PeriodicTask } from '@infrabox/app-runtime';
import { REGISTRY_OPTIONS, RegistryOptions } from '../registry.options';

/**
 * Reports clusters whose heartbeat stopped. One registry of the installation sweeps at a time:
 * the holder of a session advisory lock. The others try to take the lock at every tick, so when
 * the leader dies (and its session with it) another one sweeps at its next tick.
 */
@Injectable()
export class LivenessService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('liveness');
  private readonly leader: LeaderLock;
  private readonly sweeps: PeriodicTask;
  /** As of the last tick; the lock can be lost in between (its session ended). */
  private leading = false;

  constructor(
    private readonly cluster: CurrentCluster,
    private readonly db: Database,
    private readonly clusters: ClusterRepository,
    private readonly events: PgEventClient,
    @Inject(REGISTRY_OPTIONS) private readonly options: RegistryOptions,
  ) {
    this.leader = new LeaderLock({
      databaseUrl: db.url,
      key: options.sweepLockKey,
      applicationName: `infrabox registry@${cluster.name} liveness leader`,
    });
    this.sweeps = new PeriodicTask('liveness sweep', options.sweepIntervalMs, () => this.tick(), this.logger);
  }

  get isLeader(): boolean {
    return this.leader.isLeader;
  }

  onApplicationBootstrap(): void {
    this.sweeps.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.sweeps.stop();
    await this.leader.release();
  }

  /** Sweeps if this process leads (taking the lead when it is free); returns the clusters reported lost. */
  async tick(): Promise<Cluster[]> {
    const leads = await this.leader.tryLead();
    if (leads !== this.leading) {
      this.leading = leads;
      this.logger.log(`cluster '${this.cluster.name}' ${leads ? 'now leads' : 'no longer leads'} the liveness sweep`);
    }
    return leads ? this.sweep() : [];
  }

  /**
   * Marks inactive the clusters whose heartbeat is older than the timeout and emits
   * `cluster.lost` for each, in one transaction. Safe without the lead too: concurrent sweeps
   * never report the same loss twice (see `ClusterRepository.markLost`).
   */
  async sweep(): Promise<Cluster[]> {
    const lost = await this.db.transaction(async () => {
      const clusters = await this.clusters.markLost(this.options.heartbeatTimeoutMs);
      for (const cluster of clusters) {
        const event: ClusterLostEvent = { cluster: cluster.name, lastHeartbeatAt: cluster.lastHeartbeatAt.toISOString() };
        await this.events.emit(CLUSTER_LOST, event);
      }
      return clusters;
    });
    for (const cluster of lost) {
      this.logger.warn(
        `cluster '${cluster.name}' lost: no heartbeat for ${cluster.heartbeatAgeSeconds.toFixed(1)} s ` +
          `(timeout ${this.options.heartbeatTimeoutMs / 1000} s)`,
      );
    }
    return lost;
  }
}
