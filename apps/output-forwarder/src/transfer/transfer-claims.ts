import { Injectable, Logger } from '@nestjs/common';
import { CurrentCluster } from '@infrabox/config';
import { Database, lockKeyOf, SessionLocks } from '@infrabox/database';

/**
 * Which forwarder replica moves a copy: the one holding the copy's session advisory lock (keyed
 * by what is copied and where to, so a pull and a push of one copy exclude each other too). The
 * lock lives as long as the transfer in this process, and dies with the process: a replica that
 * dies mid-transfer leaves the copy to the next sweep of any replica, which redoes it from the
 * start (nothing was recorded, and storage never shows a partial object).
 */
@Injectable()
export class TransferClaims {
  private readonly logger: Logger;
  private readonly locks: SessionLocks;
  /** Transfers in progress in this process, by claim: a re-delivered event joins instead of repeating. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly names = new Map<bigint, string>();

  constructor(db: Database, cluster: CurrentCluster) {
    this.logger = new Logger(`forwarder@${cluster.name}`);
    this.locks = new SessionLocks({
      databaseUrl: db.url,
      applicationName: `infrabox[${process.pid}] forwarder@${cluster.name} claims`,
      onLost: (key) => this.logger.warn(`the claim on ${this.names.get(key) ?? key} was lost with its session; another replica may repeat it`),
    });
  }

  get active(): number {
    return this.inFlight.size;
  }

  /**
   * Runs `work` unless this process runs it already (then joins it) or another replica holds
   * the claim (then returns at once: that replica moves it, or the sweep retries after it died).
   */
  run(claim: string, work: () => Promise<void>): Promise<void> {
    const running = this.inFlight.get(claim);
    if (running) return running;
    const promise = this.claimed(claim, work).finally(() => this.inFlight.delete(claim));
    this.inFlight.set(claim, promise);
    return promise;
  }

  /** Waits until no transfer runs in this process, or until `ms` passed; true when none is left. */
  async drain(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.inFlight.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...this.inFlight.values()]), new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())))]);
    }
    return this.inFlight.size === 0;
  }

  /** Ends the claims' session: every claim is free for the other replicas. */
  close(): Promise<void> {
    return this.locks.close();
  }

  private async claimed(claim: string, work: () => Promise<void>): Promise<void> {
    const key = lockKeyOf('transfer', claim);
    if (!(await this.locks.tryLock(key))) return;
    this.names.set(key, claim);
    try {
      await work();
    } finally {
      this.names.delete(key);
      await this.locks.unlock(key);
    }
  }
}
