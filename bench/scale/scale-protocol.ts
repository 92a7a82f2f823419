export interface SimulatedCluster {
  name: string;
  labels: string[];
}

export type HostMessage =
  /** `poolerUrl`: the apps' pools through this transaction-mode PgBouncer (only LISTEN direct). */
  | { kind: 'start'; databaseUrl: string; poolerUrl?: string; clusters: SimulatedCluster[] }
  | { kind: 'stats'; withJobIds: boolean }
  | { kind: 'stop' };

export type HostReply =
  | { kind: 'ready' }
  /**
   * `delivered`: job.placed events handled on this host, the last at `lastDeliveryAt` (epoch ms);
   * `eventsHandled`: handler invocations of every type; `placed`: job ids per cluster (when asked).
   */
  | { kind: 'stats'; delivered: number; misdelivered: number; eventsHandled: number; lastDeliveryAt: number; placed: Record<string, string[]> };

/** `application_name` of every connection of one simulated cluster's app. */
export function simulatedAppName(cluster: string): string {
  return `infrabox-sim-${cluster}`;
}
