import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { CurrentCluster, DEFAULT_EVENT_RETENTION_SECONDS, InjectInstallConfig, InstallConfig } from '@infrabox/config';
import { Database, LeaderLock } from '@infrabox/database';
import { ConsumerSighting, EventConsumerRepository, EventRepository } from '@infrabox/events';
import { PeriodicTask } from '@infrabox/app-runtime';
import { REGISTRY_OPTIONS, RegistryOptions } from '../registry.options';

export interface PruneResult {
  deleted: number;
  /** Consumers unseen for longer than the retention: reported, and no longer waited for. */
  goneConsumers: ConsumerSighting[];
}

/**
 * Keeps the event table from growing for ever. One registry of the installation (the holder of
 * an advisory lock) deletes the events older than the retention that every consumer has
 * passed, in small batches so no long transaction holds back the consumers' horizons. A
 * consumer not seen for longer than the retention (its app is gone) is reported and no longer
 * holds rows back; one that comes back after that resumes from what is left.
 */
@Injectable()
export class EventPruningService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('event-pruning');
  private readonly leader: LeaderLock;
  private readonly runs: PeriodicTask;
  private readonly reported = new Set<string>();
  private leading = false;
  readonly retentionSeconds: number;

  constructor(
    @InjectInstallConfig() config: InstallConfig,
    private readonly cluster: CurrentCluster,
    db: Database,
    private readonly events: EventRepository,
    private readonly consumers: EventConsumerRepository,
    @Inject(REGISTRY_OPTIONS) private readonly options: RegistryOptions,
  ) {
    this.retentionSeconds = config.events?.retentionSeconds ?? DEFAULT_EVENT_RETENTION_SECONDS;
    this.leader = new LeaderLock({
      databaseUrl: db.url,
      key: options.eventPruneLockKey,
      applicationName: `infrabox registry@${cluster.name} event-pruning leader`,
    });
    this.runs = new PeriodicTask('event pruning', options.eventPruneIntervalMs, () => this.tick(), this.logger);
  }

  onApplicationBootstrap(): void {
    this.runs.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.runs.stop();
    await this.leader.release();
  }

  /** Prunes if this process leads (taking the lead when it is free). */
  async tick(): Promise<PruneResult | null> {
    const leads = await this.leader.tryLead();
    if (leads !== this.leading) {
      this.leading = leads;
      this.logger.log(`cluster '${this.cluster.name}' ${leads ? 'now leads' : 'no longer leads'} event pruning`);
    }
    return leads ? this.prune() : null;
  }

  /** One pruning run; safe without the lead too (concurrent runs skip each other's rows). */
  async prune(): Promise<PruneResult> {
    const goneConsumers = await this.consumers.findUnseenFor(this.retentionSeconds);
    this.reportGone(goneConsumers);
    let deleted = 0;
    for (;;) {
      const batch = await this.events.prunePassed(this.retentionSeconds, this.options.eventPruneBatchSize);
      deleted += batch;
      if (batch < this.options.eventPruneBatchSize) break;
    }
    if (deleted > 0) this.logger.log(`deleted ${deleted} handled event(s) older than ${this.retentionSeconds} s`);
    return { deleted, goneConsumers };
  }

  private reportGone(gone: ConsumerSighting[]): void {
    const names = new Set(gone.map((c) => c.name));
    for (const name of this.reported) if (!names.has(name)) this.reported.delete(name);
    for (const consumer of gone) {
      if (this.reported.has(consumer.name)) continue;
      this.reported.add(consumer.name);
      this.logger.warn(
        `event consumer '${consumer.name}' last seen ${consumer.lastSeenAt.toISOString()}, longer ago than the retention ` +
          `(${this.retentionSeconds} s): events it has not handled are pruned without waiting for it`,
      );
    }
  }
}
