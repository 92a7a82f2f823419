import { Injectable } from '@nestjs/common';
import { Registry } from 'prom-client';
import type { Counter } from 'prom-client';
import { counterIn } from '@infrabox/observability';
import type { PlacementFailure } from './placement.policy';

/** Jobs for which placement found no cluster. */
@Injectable()
export class PlacementMetrics {
  private readonly failures: Counter<'reason' | 'outcome'>;

  constructor(registry: Registry) {
    this.failures = counterIn(registry, 'infrabox_placement_failures_total', 'Jobs no cluster could take, by reason (no-matching-cluster, protected-cluster, inputs-unreachable) and outcome (error: the job ended; waiting: it waits for its lost cluster)', ['reason', 'outcome']);
  }

  failed(reason: PlacementFailure, outcome: 'error' | 'waiting'): void {
    this.failures.inc({ reason, outcome });
  }
}
