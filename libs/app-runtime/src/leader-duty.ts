import { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { LeaderLock, lockKeyOf } from '@infrabox/database';
import { PeriodicTask } from './periodic-task';

export interface LeaderDutyOptions {
  /** What the leader does, e.g. `orphan recovery of cluster 'master'`; also names the lock. */
  name: string;
  databaseUrl: string;
  /** How often the leader runs `work`. */
  intervalMs: number;
  /**
   * How often the others try to take the lead: the take-over bound after the leader died
   * (default: `intervalMs`). `work` runs at most once per `intervalMs` in a process, the first
   * time one interval after `start()`, as with a plain PeriodicTask.
   */
  takeOverMs?: number;
  /**
   * Names the lock session in `pg_stat_activity.application_name`, after `infrabox[<pid>] ` (the
   * server keeps 63 bytes of it: the process id goes first so that it survives a long name).
   */
  applicationName: string;
  work: () => Promise<unknown>;
  logger: Logger;
}

/**
 * A periodic duty that one process of all replicas performs: the holder of a session advisory
 * lock keyed by the duty's name. Every replica ticks; a follower's tick only tries the lock, so
 * when the leader dies (its session with it) another one leads within `takeOverMs`. Leadership
 * changes are logged (`now leads …` / `no longer leads …`), which is how tests see a take-over.
 */
export class LeaderDuty {
  private readonly lock: LeaderLock;
  private readonly task: PeriodicTask;
  private leading = false;
  private lastWorkAt = 0;

  constructor(private readonly options: LeaderDutyOptions) {
    this.lock = new LeaderLock({ databaseUrl: options.databaseUrl, key: lockKeyOf('leader', options.name), applicationName: `infrabox[${process.pid}] ${options.applicationName}` });
    this.task = new PeriodicTask(options.name, Math.min(options.intervalMs, options.takeOverMs ?? options.intervalMs), () => this.tick(), options.logger);
  }

  get isLeader(): boolean {
    return this.lock.isLeader;
  }

  start(): void {
    if (this.lastWorkAt === 0) this.lastWorkAt = Date.now();
    this.task.start();
  }

  /** Stops ticking, waits for a run in progress, and gives up the lead so another replica takes it at once. */
  async stop(): Promise<void> {
    await this.task.stop();
    await this.lock.release();
    if (this.leading) this.options.logger.log(`no longer leads ${this.options.name} (stopping)`);
    this.leading = false;
  }

  /** Runs the duty if this process leads (taking the lead when it is free) and it is due. */
  async tick(): Promise<void> {
    const leads = await this.lock.tryLead();
    if (leads !== this.leading) {
      this.leading = leads;
      this.options.logger.log(`${leads ? 'now leads' : 'no longer leads'} ${this.options.name}`);
    }
    if (!leads || Date.now() - this.lastWorkAt < this.options.intervalMs - 1) return;
    this.lastWorkAt = Date.now();
    await this.options.work();
  }
}

/**
 * A provider that performs one LeaderDuty with its app: started when the app has booted, stopped
 * (the lead given up at once, for a replica to take) when it shuts down. Subclasses make `duty`
 * in their constructor.
 */
export abstract class LeaderDutyHost implements OnApplicationBootstrap, OnModuleDestroy {
  protected abstract readonly duty: LeaderDuty;

  get isLeader(): boolean {
    return this.duty.isLeader;
  }

  onApplicationBootstrap(): void {
    this.duty.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.duty.stop();
  }
}
