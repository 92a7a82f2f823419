import { Controller, Inject, Logger, OnApplicationBootstrap, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { PeriodicTask } from '@infrabox/app-runtime';
import { OnEvent } from '@infrabox/events';
import { CurrentCluster, haOf, INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { BUILD_SOURCE_READY, BuildSourceReadyEvent, JOB_FINISHED, JOB_PLACED, JobFinishedEvent, JobPlacedEvent, JobPlacementRepository } from '@infrabox/jobs';
import { ArtifactTransferService } from './artifact-transfer.service';
import { TransferClaims } from './transfer-claims';
import type { TransferKind } from './transfer.metrics';
import { TRANSFER_STRATEGIES, TransferStrategy } from './transfer.strategy';

/** How often copies still needed (missed events, a restart mid-transfer) are looked for. */
const SWEEP_INTERVAL_MS = 5_000;

/**
 * Starts transfers (of every kind of copy, see TransferStrategy) when a job ends, a job lands on
 * a cluster or a source lands here, and in a periodic sweep of the copies needed. Transfers run in the
 * background (a 1 GiB output must not hold back the next event); should this process die
 * mid-transfer, nothing was recorded and the sweep (of any replica) starts it again.
 *
 * On shutdown nothing new starts; transfers in progress get the grace period to finish, then
 * are abandoned with their claims, for another replica to redo.
 */
@Controller()
export class TransferHandlers implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly logger: Logger;
  private readonly cluster: string;
  private readonly sweep: PeriodicTask;
  private readonly shutdownGraceMs: number;
  private stopping = false;
  /** The needed-copies scan asked for by events, while it runs; and whether another was asked for meanwhile. */
  private scanning: Promise<void> | null = null;
  private scanAgain = false;

  private readonly strategies: ReadonlyMap<TransferKind, TransferStrategy>;

  constructor(
    private readonly transfers: ArtifactTransferService,
    @Inject(TRANSFER_STRATEGIES) strategies: readonly TransferStrategy[],
    private readonly jobs: JobPlacementRepository,
    private readonly claims: TransferClaims,
    @Inject(INSTALL_CONFIG) config: InstallConfig,
    cluster: CurrentCluster,
  ) {
    this.strategies = new Map(strategies.map((s) => [s.kind, s]));
    this.cluster = cluster.name;
    this.shutdownGraceMs = haOf(config).shutdownGraceMs;
    this.logger = new Logger(`forwarder@${this.cluster}`);
    this.sweep = new PeriodicTask('needed-copies sweep', SWEEP_INTERVAL_MS, () => this.copyWhatIsNeeded(), this.logger);
  }

  @OnEvent(JOB_FINISHED)
  async onJobFinished(@Payload() event: JobFinishedEvent): Promise<void> {
    if (this.stopping) return;
    if (!event.cluster || !event.childClusters?.some((c) => c !== event.cluster)) return;
    if (event.cluster === this.cluster) {
      for (const target of event.childClusters) if (target !== this.cluster) this.start('output', event.jobId, this.cluster, target);
    } else if (event.childClusters.includes(this.cluster)) {
      this.start('output', event.jobId, event.cluster, this.cluster);
    }
    // The image a docker job built, for children that run it elsewhere (the needed-copies scan knows which).
    this.scanSoon();
  }

  /**
   * A job placed (or re-homed) here: a child whose parents ended elsewhere needs their outputs,
   * and any job of a build with a source needs that source here.
   */
  @OnEvent(JOB_PLACED)
  async onJobPlaced(@Payload() event: JobPlacedEvent): Promise<void> {
    if (this.stopping) return;
    if (event.cluster === this.cluster) this.start('source', event.buildId, null, this.cluster);
    this.scanSoon();
  }

  /**
   * A copy of a build's source landed here (uploaded, pulled or pushed): clusters running the
   * build's jobs that can reach no other holder may need it pushed from here.
   */
  @OnEvent(BUILD_SOURCE_READY)
  async onSourceReady(@Payload() event: BuildSourceReadyEvent): Promise<void> {
    if (this.stopping || event.cluster !== this.cluster) return;
    for (const { id, from, to } of await this.strategy('source').neededCopies(this.cluster)) if (id === event.buildId && from === this.cluster) this.start('source', id, from, to);
  }

  onApplicationBootstrap(): void {
    this.sweep.start();
  }

  /** First step of a shutdown (the event transport still open): start nothing new. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    await this.sweep.stop();
    await this.scanning;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.onModuleDestroy();
    if (this.claims.active > 0) this.logger.log(`stopping: ${this.claims.active} transfer(s) get ${this.shutdownGraceMs / 1000} s to finish`);
    if (!(await this.claims.drain(this.shutdownGraceMs))) {
      this.logger.warn(`stopping: abandoning ${this.claims.active} transfer(s) after the grace period; another replica redoes them`);
    }
    await this.claims.close();
  }

  /**
   * Asks for a needed-copies scan without waiting for it. A scan reads the whole state, so every
   * request that arrives while one runs is answered by one scan after it: a build of hundreds of
   * jobs placed at once costs two scans, not one per job.placed (which, one after the other, left
   * the consumer thousands of events behind). A failed scan is logged; the periodic sweep runs the
   * same scan, as it does after a restart.
   */
  private scanSoon(): void {
    if (this.scanning) {
      this.scanAgain = true;
      return;
    }
    this.scanning = this.copyWhatIsNeeded()
      .catch((error: Error) => this.logger.warn(`needed-copies scan failed, the sweep retries: ${error.message}`))
      .finally(() => {
        this.scanning = null;
        if (this.scanAgain && !this.stopping) {
          this.scanAgain = false;
          this.scanSoon();
        }
      });
  }

  private async copyWhatIsNeeded(): Promise<void> {
    if (this.stopping) return;
    for (const strategy of this.strategies.values()) {
      // A source held by several clusters is needed once here: one pull, whichever holder it takes.
      const started = new Set<string>();
      for (const { id, from, to } of await strategy.neededCopies(this.cluster)) {
        if (started.has(`${id}->${to}`)) continue;
        started.add(`${id}->${to}`);
        this.start(strategy.kind, id, from, to);
      }
    }
  }

  /**
   * A copy from `from` (null: any holder) to `to`, pulled or pushed from here as the routes
   * allow, in the background (a 1 GiB output must not hold back the next event); the sweep tries
   * again after a failure, which is shown on the jobs waiting for the copy, not only in this log.
   */
  private start(kind: TransferKind, id: string, from: string | null, to: string): void {
    const strategy = this.strategy(kind);
    let transfer: Promise<void> | null = null;
    if (to === this.cluster) transfer = this.transfers.pull(strategy, id);
    else if (from === this.cluster) transfer = this.transfers.push(strategy, id, to);
    transfer?.catch(async (error: Error) => {
      const failure = strategy.failure(id, from, to, to === this.cluster ? 'pull' : 'push', error.message);
      this.logger.error(failure.log);
      await this.jobs.noteOnWaitingJobs(failure.waiting, failure.cluster, failure.note).catch(() => undefined);
    });
  }

  private strategy(kind: TransferKind): TransferStrategy {
    const strategy = this.strategies.get(kind);
    if (!strategy) throw new Error(`no transfer strategy for ${kind}`);
    return strategy;
  }
}
