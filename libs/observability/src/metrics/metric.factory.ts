import { Counter, Histogram, Registry } from 'prom-client';

/** A counter registered in the app's metrics registry (the one `GET /metrics` serves). */
export function counterIn<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[]): Counter<L> {
  return new Counter({ name, help, labelNames, registers: [registry] });
}

/** A histogram registered in the app's metrics registry, with its buckets (seconds). */
export function histogramIn<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
  return new Histogram({ name, help, labelNames, buckets, registers: [registry] });
}
