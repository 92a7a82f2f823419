import { DynamicModule, Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Registry } from 'prom-client';
import { CurrentCluster } from '@infrabox/config';
import { DatabaseHealthIndicator } from './health/database.health';
import { EventListenerHealthIndicator } from './health/event-listener.health';
import { HealthController } from './health/health.controller';
import { StorageHealthIndicator } from './health/storage.health';
import { EventLogContext } from './logging/event-log-context';
import { DatabasePoolMetrics } from './metrics/database-pool.metrics';
import { EventMetrics } from './metrics/event.metrics';
import { MetricsController } from './metrics/metrics.controller';
import { createMetricsRegistry } from './metrics/metrics.registry';

export interface ObservabilityOptions {
  /** `api`, `registry`, `scheduler` or `output-forwarder`. */
  app: string;
}

/**
 * What every app serves for operators: `GET /health/live`, `GET /health/ready` and
 * `GET /metrics`. Global, so feature modules inject the metrics `Registry` to add their own.
 */
@Global()
@Module({})
export class ObservabilityModule {
  static forApp(options: ObservabilityOptions): DynamicModule {
    return {
      module: ObservabilityModule,
      imports: [TerminusModule.forRoot({ errorLogStyle: 'pretty' })],
      controllers: [HealthController, MetricsController],
      providers: [
        {
          provide: Registry,
          inject: [CurrentCluster],
          useFactory: (cluster: CurrentCluster) => createMetricsRegistry(options.app, cluster.name),
        },
        DatabaseHealthIndicator,
        StorageHealthIndicator,
        EventListenerHealthIndicator,
        EventMetrics,
        DatabasePoolMetrics,
        EventLogContext,
      ],
      exports: [Registry],
    };
  }
}
