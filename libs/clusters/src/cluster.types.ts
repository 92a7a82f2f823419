/** A row of `cluster`, as read through {@link ClusterRepository}. */
export interface Cluster {
  name: string;
  labels: string[];
  apiUrl: string;
  /** Where peers reach its image registry; null for a cluster registered before registries (or by a test without one). */
  registryUrl: string | null;
  /** Set by an admin; a disabled cluster keeps its row and heartbeat but gets no new jobs. */
  enabled: boolean;
  /** Set by the liveness sweep: false once the heartbeat is older than the timeout. */
  active: boolean;
  capacity: number;
  /** A protected cluster's projects (the only ones whose jobs it runs); null: every project's. */
  projects: string[] | null;
  registeredAt: Date;
  lastHeartbeatAt: Date;
  /** Measured by the database clock when the row was read, so hosts' clocks do not matter. */
  heartbeatAgeSeconds: number;
}

/** What a cluster says about itself when it registers (from its install config). */
export interface ClusterRegistration {
  name: string;
  labels: readonly string[];
  apiUrl: string;
  /** Where peers reach its image registry (the install config's `registry.url`). */
  registryUrl?: string;
  /** Left out: a new row gets the database default, an existing row keeps its value. */
  capacity?: number;
  /** The install config's `cluster.projects`; left out: every project. */
  projects?: readonly string[];
}

export interface RegistrationResult {
  /** The row before registration; null when registration created it. */
  previous: Cluster | null;
  current: Cluster;
}

/** A row of `cluster_reachability`: the last probe of `to`'s API from `from`. */
export interface ClusterReachability {
  from: string;
  to: string;
  reachable: boolean;
  rttMs: number | null;
  error: string | null;
  checkedAt: Date;
}

export type ProbeResult = Omit<ClusterReachability, 'checkedAt'>;
