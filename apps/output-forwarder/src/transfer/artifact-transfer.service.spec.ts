import type { CurrentCluster } from '@infrabox/config';
import { ArtifactTransferService } from './artifact-transfer.service';
import type { PeerDownloadClient } from './peer-download.client';
import type { TransferClaims } from './transfer-claims';
import type { TransferMetrics } from './transfer.metrics';
import type { TransferRoutes } from './transfer-routes';
import type { TransferStrategy } from './transfer.strategy';

describe('ArtifactTransferService', () => {
  /** `reach` lists the (from → to) routes known to be cut; every other one is open. */
  function serviceWith(holders: string[], cut: string[] = []) {
    const reach = (from: string, to: string) => !cut.includes(`${from}->${to}`);
    const routes = {
      mayPullFrom: async (origin: string) => reach('here', origin),
      shouldPushTo: async (target: string) => !reach(target, 'here') && reach('here', target),
      mayReach: async (from: string, to: string) => reach(from, to),
    };
    const move = jest.fn(async () => ({ bytes: 10, report: () => 'moved' }));
    const strategy = {
      kind: 'source',
      logFields: () => ({}),
      holders: async () => holders.map((cluster) => ({ cluster })),
      held: async (_id: string, cluster: string) => holders.includes(cluster),
      move,
      attempt: () => 'attempt',
    } as unknown as TransferStrategy;
    const service = new ArtifactTransferService(
      routes as unknown as TransferRoutes,
      { withRetries: (_what: string, attempt: () => Promise<void>) => attempt() } as unknown as PeerDownloadClient,
      { run: (_claim: string, work: () => Promise<void>) => work() } as unknown as TransferClaims,
      { track: async (_k: string, _d: string, work: () => Promise<number>) => void (await work()) } as unknown as TransferMetrics,
      { name: 'here' } as CurrentCluster,
    );
    return { service, strategy, move };
  }

  it('pulls from the first holder it may reach', async () => {
    const { service, strategy, move } = serviceWith(['a', 'b'], ['here->a']);
    await service.pull(strategy, 'id');
    expect(move).toHaveBeenCalledWith('id', { cluster: 'b' }, 'here', 'pull');
  });

  it('pulls nothing it holds already, nor from holders it cannot reach', async () => {
    const held = serviceWith(['a', 'here']);
    await held.service.pull(held.strategy, 'id');
    const cutOff = serviceWith(['a'], ['here->a']);
    await cutOff.service.pull(cutOff.strategy, 'id');
    expect([held.move, cutOff.move].map((m) => m.mock.calls.length)).toEqual([0, 0]);
  });

  it('pushes only where the target reaches us not, and reaches no other holder', async () => {
    const pushed = serviceWith(['here', 'a'], ['t->here', 't->a']);
    await pushed.service.push(pushed.strategy, 'id', 't');
    expect(pushed.move).toHaveBeenCalledWith('id', { cluster: 'here' }, 't', 'push');
    // The target pulls: from us, or from another holder it reaches.
    for (const cut of [[], ['t->here']]) {
      const left = serviceWith(['here', 'a'], cut);
      await left.service.push(left.strategy, 'id', 't');
      expect(left.move).not.toHaveBeenCalled();
    }
  });
});
