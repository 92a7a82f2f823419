import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { PeriodicTask } from '@infrabox/app-runtime';
import { CurrentCluster, haOf, INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { SchedulerRunnerRepository } from '@infrabox/jobs';

/**
 * This scheduler process as a job runner: an id written on every job it starts, and a row in
 * `scheduler_runner` whose heartbeat says it is alive. Should the heartbeat stop for longer
 * than the lease (the process died), the recovery leader ends the jobs it held in error.
 *
 * A heartbeat, not the runner's own advisory lock: a lock dies with its session, and a session
 * can end (terminated, a server restart) while the process and its jobs live on; a lease only
 * expires when the process has stopped talking for its whole length.
 */
@Injectable()
export class RunnerLease implements OnModuleInit {
  /** `<host>/<pid>/<random>`: names the process in the message of the jobs it leaves behind. */
  readonly id = `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
  private readonly logger: Logger;
  private readonly heartbeats: PeriodicTask;
  private readonly cluster: string;
  private readonly leaseMs: number;

  constructor(
    private readonly runners: SchedulerRunnerRepository,
    @Inject(INSTALL_CONFIG) config: InstallConfig,
    cluster: CurrentCluster,
  ) {
    this.cluster = cluster.name;
    this.leaseMs = haOf(config).leaseMs;
    this.logger = new Logger(`runner@${this.cluster}`);
    // Several beats per lease: a slow query or a dropped connection costs one beat, not the lease.
    this.heartbeats = new PeriodicTask('runner heartbeat', Math.max(100, Math.floor(this.leaseMs / 5)), () => this.beat(), this.logger);
  }

  /** Registered before the app starts taking events, so no job is ever started under an unknown runner. */
  async onModuleInit(): Promise<void> {
    await this.register();
    this.heartbeats.start();
    this.logger.log(`runner ${this.id} (lease ${this.leaseMs / 1000} s)`);
  }

  /** Called by the job runner once its last job has ended: nothing is held any more. */
  async release(): Promise<void> {
    await this.heartbeats.stop();
    await this.runners.remove(this.id).catch((error: Error) => this.logger.warn(`removing runner ${this.id} failed: ${error.message}`));
  }

  private register(): Promise<void> {
    return this.runners.register({ id: this.id, cluster: this.cluster, pid: process.pid, hostname: hostname(), leaseMs: this.leaseMs });
  }

  private async beat(): Promise<void> {
    if (await this.runners.heartbeat(this.id)) return;
    // Declared dead while alive (no heartbeat got through for a whole lease): the jobs held then
    // ended in error already; go on as a live runner for the jobs started from now on.
    this.logger.error(`runner ${this.id} was declared dead (no heartbeat for ${this.leaseMs / 1000} s); registering again`);
    await this.register();
  }
}
