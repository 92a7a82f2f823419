import { Injectable } from '@nestjs/common';
import { Registry } from 'prom-client';
import type { Counter, Histogram } from 'prom-client';
import { counterIn, histogramIn } from '@infrabox/observability';

export type TransferKind = 'output' | 'source' | 'image';
export type TransferDirection = 'pull' | 'push';

const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** Bytes moved between clusters and how long each transfer took (retries included). */
@Injectable()
export class TransferMetrics {
  private readonly bytes: Counter<'kind' | 'direction'>;
  private readonly duration: Histogram<'kind' | 'direction' | 'outcome'>;

  constructor(registry: Registry) {
    this.bytes = counterIn(registry, 'infrabox_transfer_bytes_total', 'Bytes of job outputs, build sources and images (layers the target held already not counted) moved to or from this cluster, by kind and direction', ['kind', 'direction']);
    this.duration = histogramIn(registry, 'infrabox_transfer_duration_seconds', 'Duration of each transfer, retries and resumes included, by kind, direction and outcome (ok, error)', ['kind', 'direction', 'outcome'], DURATION_BUCKETS);
  }

  /** Times `work`, which moves bytes and resolves with how many it moved (0 when another copy won). */
  async track(kind: TransferKind, direction: TransferDirection, work: () => Promise<number>): Promise<void> {
    const endTimer = this.duration.startTimer({ kind, direction });
    try {
      const moved = await work();
      if (moved > 0) this.bytes.inc({ kind, direction }, moved);
      endTimer({ outcome: 'ok' });
    } catch (error) {
      endTimer({ outcome: 'error' });
      throw error;
    }
  }
}
