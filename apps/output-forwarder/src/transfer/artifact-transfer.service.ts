import { Injectable, Logger } from '@nestjs/common';
import { CurrentCluster } from '@infrabox/config';
import { withLogFields } from '@infrabox/observability';
import { PeerDownloadClient } from './peer-download.client';
import { TransferClaims } from './transfer-claims';
import { TransferDirection, TransferMetrics } from './transfer.metrics';
import { TransferRoutes } from './transfer-routes';
import type { MoveResult, TransferStrategy } from './transfer.strategy';

/**
 * Moves a copy (a job's output, a build's source, a docker job's image: see TransferStrategy)
 * from a cluster holding it to a cluster that needs it. The cluster that needs it fetches it
 * (pull) from a holder it may reach; when it may reach none, a holder that may reach it sends it
 * (push). The bytes are verified and become a copy (recorded and announced) only once complete.
 * Of all forwarder replicas, one moves a copy at a time (TransferClaims); a second call joins the
 * first, another replica's call returns at once.
 */
@Injectable()
export class ArtifactTransferService {
  private readonly logger: Logger;
  private readonly cluster: string;

  constructor(
    private readonly routes: TransferRoutes,
    private readonly peers: PeerDownloadClient,
    private readonly claims: TransferClaims,
    private readonly metrics: TransferMetrics,
    cluster: CurrentCluster,
  ) {
    this.cluster = cluster.name;
    this.logger = new Logger(`forwarder@${this.cluster}`);
  }

  /** Into this cluster, from a holder it may reach (none: one of them pushes it). */
  pull(strategy: TransferStrategy, id: string): Promise<void> {
    return this.run(strategy, id, this.cluster, 'pull');
  }

  /** From this cluster into `to`, only where `to` may reach no holder and we may reach `to` (else `to` pulls, or nobody can move it). */
  push(strategy: TransferStrategy, id: string, to: string): Promise<void> {
    return this.run(strategy, id, to, 'push');
  }

  /**
   * The claim is taken only for a copy to move this way: a holder that leaves the copy to the
   * target's pull must not hold the claim that pull needs (it shares it: one copy, one claim).
   */
  private run(strategy: TransferStrategy, id: string, to: string, direction: TransferDirection): Promise<void> {
    return withLogFields(strategy.logFields(id), async () => {
      if (!(await this.holderFor(strategy, id, to, direction))) return;
      await this.claims.run(`${strategy.kind}:${id}->${to}`, () => this.move(strategy, id, to, direction));
    });
  }

  private async move(strategy: TransferStrategy, id: string, to: string, direction: TransferDirection): Promise<void> {
    const first = await this.holderFor(strategy, id, to, direction);
    if (!first) return;
    const started = Date.now();
    const outcome: Pick<MoveResult, 'report'> = { report: null };
    await this.metrics.track(strategy.kind, direction, async () => {
      let moved = 0;
      await this.peers.withRetries(strategy.attempt(id, first.cluster, to, direction), async () => {
        if (await strategy.held(id, to)) return; // moved there meanwhile (a push, another replica)
        const from = direction === 'pull' ? ((await this.holderFor(strategy, id, to, direction)) ?? first) : first;
        const result = await strategy.move(id, from, to, direction);
        moved += result.bytes;
        outcome.report = result.report;
      });
      return moved;
    });
    if (outcome.report) this.logger.log(outcome.report((Date.now() - started) / 1000));
  }

  /** The holder to move a copy from, null when there is nothing to move (or `to` holds it, or this direction is not the one). */
  private async holderFor<C extends { cluster: string }>(strategy: TransferStrategy<C>, id: string, to: string, direction: TransferDirection): Promise<C | null> {
    const holders = await strategy.holders(id);
    if (holders.length === 0 || holders.some((h) => h.cluster === to) || (await strategy.held(id, to))) return null;
    if (direction === 'pull') {
      for (const holder of holders) if (await this.routes.mayPullFrom(holder.cluster)) return holder;
      return null;
    }
    const here = holders.find((h) => h.cluster === this.cluster);
    if (!here || !(await this.routes.shouldPushTo(to))) return null;
    for (const holder of holders) if (holder !== here && (await this.routes.mayReach(to, holder.cluster))) return null; // `to` pulls it
    return here;
  }
}
