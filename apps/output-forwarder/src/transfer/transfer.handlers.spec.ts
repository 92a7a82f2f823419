import type { CurrentCluster, InstallConfig } from '@infrabox/config';
import type { JobPlacementRepository } from '@infrabox/jobs';
import type { ArtifactTransferService } from './artifact-transfer.service';
import type { TransferClaims } from './transfer-claims';
import { TransferHandlers } from './transfer.handlers';
import type { TransferStrategy } from './transfer.strategy';

describe('TransferHandlers on job.placed', () => {
  function handlersWith(neededCopies: jest.Mock) {
    const strategy = (kind: TransferStrategy['kind'], needed: jest.Mock) => ({ kind, neededCopies: needed }) as unknown as TransferStrategy;
    const transfers = { pull: jest.fn().mockResolvedValue(undefined), push: jest.fn().mockResolvedValue(undefined) };
    const handlers = new TransferHandlers(
      transfers as unknown as ArtifactTransferService,
      [strategy('output', neededCopies), strategy('source', jest.fn().mockResolvedValue([])), strategy('image', jest.fn().mockResolvedValue([]))],
      {} as JobPlacementRepository,
      {} as TransferClaims,
      {} as InstallConfig,
      { name: 'w1' } as CurrentCluster,
    );
    return handlers;
  }

  it('answers a burst of events with one scan running and one after it, without holding the events back', async () => {
    let finishScan: () => void = () => undefined;
    const neededCopies = jest.fn(() => new Promise<never[]>((resolve) => (finishScan = () => resolve([]))));
    const handlers = handlersWith(neededCopies);

    // 200 jobs of one build placed at once: every handler returns while the first scan still runs.
    for (let i = 0; i < 200; i++) await handlers.onJobPlaced({ jobId: `j${i}`, buildId: 'b1', cluster: 'w2' });
    expect(neededCopies).toHaveBeenCalledTimes(1);

    finishScan();
    await new Promise((resolve) => setImmediate(resolve));
    // The events that came during the first scan are covered by one more, which starts after it.
    expect(neededCopies).toHaveBeenCalledTimes(2);
    finishScan();
    await new Promise((resolve) => setImmediate(resolve));
    expect(neededCopies).toHaveBeenCalledTimes(2);
  });

  it('scans again for an event that arrives after a scan ended', async () => {
    const neededCopies = jest.fn().mockResolvedValue([]);
    const handlers = handlersWith(neededCopies);
    await handlers.onJobPlaced({ jobId: 'j1', buildId: 'b1', cluster: 'w2' });
    await new Promise((resolve) => setImmediate(resolve));
    await handlers.onJobPlaced({ jobId: 'j2', buildId: 'b1', cluster: 'w2' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(neededCopies).toHaveBeenCalledTimes(2);
  });
});
