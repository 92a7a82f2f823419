import { Injectable, OnModuleInit } from '@nestjs/common';
import { Registry } from 'prom-client';
import type { Counter, Histogram } from 'prom-client';
import { counterIn, histogramIn } from './metric.factory';
import { PgEventServer, StoredEvent } from '@infrabox/events';

const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Counts every handler run of the app's event server, times it, and measures how late it started. */
@Injectable()
export class EventMetrics implements OnModuleInit {
  private readonly handled: Counter<'pattern' | 'outcome'>;
  private readonly lag: Histogram<'pattern'>;
  private readonly duration: Histogram<'pattern'>;

  constructor(
    private readonly server: PgEventServer,
    registry: Registry,
  ) {
    this.handled = counterIn(registry, 'infrabox_events_handled_total', 'Event handler runs by event pattern and outcome (ok, or error: retried later, dead-lettered after the last attempt)', ['pattern', 'outcome']);
    this.lag = histogramIn(registry, 'infrabox_event_lag_seconds', 'Time from the event row being written (created_at) to a handler run starting, per attempt', ['pattern'], LAG_BUCKETS);
    this.duration = histogramIn(registry, 'infrabox_event_handler_duration_seconds', 'How long a handler run took', ['pattern'], DURATION_BUCKETS);
  }

  onModuleInit(): void {
    this.server.addDispatchWrapper((event, handle) => this.measure(event, handle));
  }

  private async measure(event: StoredEvent, handle: () => Promise<void>): Promise<void> {
    const pattern = event.type;
    if (event.createdAt) this.lag.observe({ pattern }, Math.max(0, Date.now() - event.createdAt.getTime()) / 1000);
    const endTimer = this.duration.startTimer({ pattern });
    try {
      await handle();
      this.handled.inc({ pattern, outcome: 'ok' });
    } catch (error) {
      this.handled.inc({ pattern, outcome: 'error' });
      throw error;
    } finally {
      endTimer();
    }
  }
}
