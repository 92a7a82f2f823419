import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import type { PlacementFailure } from './placement.policy';

/** Jobs for which placement found no cluster. */
@Injectable()
export class PlacementMetrics {
  private readonly failures: Counter<'reason' | 'outcome'>;

  constructor(registry: Registry) {
    this.failures = new Counter({
      name: 'infrabox_placement_failures_total',
      help: 'Jobs no cluster could take, by reason (no-matching-cluster, protected-cluster, inputs-unreachable) and outcome (error: the job ended; waiting: it waits for its lost cluster)',
      labelNames: ['reason', 'outcome'],
      registers: [registry],
    });
  }

  failed(reason: PlacementFailure, outcome: 'error' | 'waiting'): void {
    this.failures.inc({ reason, outcome });
  }
}
