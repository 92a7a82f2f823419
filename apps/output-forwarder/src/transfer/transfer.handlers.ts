import { Controller, Inject, Logger, OnApplicationBootstrap, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { PeriodicTask } from '@infrabox/app-runtime';
import { haOf, INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { BUILD_SOURCE_READY, BuildSourceReadyEvent, JOB_FINISHED, JOB_PLACED, JobFinishedEvent, JobOutputRepository, JobPlacedEvent, JobPlacementRepository } from '@infrabox/jobs';
import { ImageTransferService } from '../images/image-transfer.service';
import { SourceTransferService } from '../sources/source-transfer.service';
import { OutputTransferService } from './output-transfer.service';
import { TransferClaims } from './transfer-claims';

/** How often copies still needed (missed events, a restart mid-transfer) are looked for. */
const SWEEP_INTERVAL_MS = 5_000;

/**
 * Starts transfers when a job ends or a child lands on a new cluster. Transfers run in the
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

  constructor(
    private readonly transfers: OutputTransferService,
    private readonly sources: SourceTransferService,
    private readonly images: ImageTransferService,
    private readonly outputs: JobOutputRepository,
    private readonly jobs: JobPlacementRepository,
    private readonly claims: TransferClaims,
    @Inject(INSTALL_CONFIG) config: InstallConfig,
  ) {
    this.cluster = config.cluster.name;
    this.shutdownGraceMs = haOf(config).shutdownGraceMs;
    this.logger = new Logger(`forwarder@${this.cluster}`);
    this.sweep = new PeriodicTask('needed-copies sweep', SWEEP_INTERVAL_MS, () => this.copyWhatIsNeeded(), this.logger);
  }

  @EventPattern(JOB_FINISHED)
  async onJobFinished(@Payload() event: JobFinishedEvent): Promise<void> {
    if (this.stopping) return;
    if (!event.cluster || !event.childClusters?.some((c) => c !== event.cluster)) return;
    if (event.cluster === this.cluster) {
      for (const target of event.childClusters) if (target !== this.cluster) await this.start(event.jobId, this.cluster, target);
    } else if (event.childClusters.includes(this.cluster)) {
      await this.start(event.jobId, event.cluster, this.cluster);
    }
    // The image a docker job built, for children that run it elsewhere (the needed-copies scan knows which).
    this.scanSoon();
  }

  /**
   * A job placed (or re-homed) here: a child whose parents ended elsewhere needs their outputs,
   * and any job of a build with a source needs that source here.
   */
  @EventPattern(JOB_PLACED)
  async onJobPlaced(@Payload() event: JobPlacedEvent): Promise<void> {
    if (this.stopping) return;
    if (event.cluster === this.cluster) this.fetchSource(event.buildId);
    this.scanSoon();
  }

  /**
   * A copy of a build's source landed here (uploaded, pulled or pushed): clusters running the
   * build's jobs that can reach no other holder may need it pushed from here.
   */
  @EventPattern(BUILD_SOURCE_READY)
  async onSourceReady(@Payload() event: BuildSourceReadyEvent): Promise<void> {
    if (this.stopping || event.cluster !== this.cluster) return;
    for (const { buildId, to } of await this.sources.neededFromHere()) if (buildId === event.buildId) this.pushSource(buildId, to);
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
    for (const { jobId, from, to } of await this.outputs.neededCopies(this.cluster)) await this.start(jobId, from, to);
    for (const { jobId, from, to } of await this.images.neededCopies()) await this.start(jobId, from, to, this.images, 'image');
    for (const buildId of await this.sources.neededHere()) this.fetchSource(buildId);
    for (const { buildId, to } of await this.sources.neededFromHere()) this.pushSource(buildId, to);
  }

  /** In the background, like output transfers; the sweep tries again after a failure. */
  private fetchSource(buildId: string): void {
    this.sources.fetch(buildId).catch((error: Error) => {
      this.logger.error(`build ${buildId}: source not fetched yet: ${error.message}`);
      return this.report({ buildId }, this.cluster, `waiting for the build's source: fetching it failed (${error.message}); retrying`);
    });
  }

  /** In the background; pushes only where `to` can pull from no holder (see SourceTransferService.push). */
  private pushSource(buildId: string, to: string): void {
    this.sources.push(buildId, to).catch((error: Error) => {
      this.logger.error(`build ${buildId}: source not pushed to ${to} yet: ${error.message}`);
      return this.report({ buildId }, to, `waiting for the build's source: ${this.cluster} could not push it (${error.message}); retrying`);
    });
  }

  /** A job's output (or the image a docker job built) from `from` to `to`, pulled or pushed from here as the routes allow. */
  private async start(jobId: string, from: string, to: string, transfers: OutputTransferService | ImageTransferService = this.transfers, what: 'output' | 'image' = 'output'): Promise<void> {
    let transfer: Promise<void> | null = null;
    if (to === this.cluster && (await transfers.mayPullFrom(from))) transfer = transfers.pull(jobId, from);
    else if (from === this.cluster && (await transfers.shouldPushTo(to))) transfer = transfers.push(jobId, to);
    transfer?.catch((error: Error) => {
      this.logger.error(`job ${jobId}: ${what} ${from} → ${to} not delivered yet: ${error.message}`);
      return this.report({ parentId: jobId }, to, `waiting for the ${what} of job ${jobId} from ${from}: the transfer failed (${error.message}); retrying`);
    });
  }

  /** A failed transfer is shown on the jobs waiting for it, not only in this log. */
  private async report(where: { parentId: string } | { buildId: string }, cluster: string, message: string): Promise<void> {
    await this.jobs.noteOnWaitingJobs(where, cluster, message).catch(() => undefined);
  }
}
