export { ObservabilityModule } from './observability.module';
export type { ObservabilityOptions } from './observability.module';
export { JsonLogsModule } from './logging/json-logs.module';
export { currentLogFields, withLogFields } from './logging/log-context';
export type { LogFields } from './logging/log-context';
export { eventLogFields } from './logging/event-log-context';
export { counterIn, histogramIn } from './metrics/metric.factory';
