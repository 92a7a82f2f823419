import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** The app's own prom-client registry (never the global one: tests run several apps in one process). */
export function createMetricsRegistry(app: string, cluster: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ app });
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'infrabox_app_info',
    help: 'Always 1: which app of which cluster (installation) this process is',
    labelNames: ['cluster'],
    registers: [registry],
  }).set({ cluster }, 1);
  return registry;
}
