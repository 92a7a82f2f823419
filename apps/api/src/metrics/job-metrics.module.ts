import { Module } from '@nestjs/common';
import { JobStateMetrics } from './job-state.metrics';

/** Job counts for /metrics (the registry and the repository come from global modules). */
@Module({ providers: [JobStateMetrics] })
export class JobMetricsModule {}
