/** A cluster as the API shows it (`GET /api/v1/clusters`). */
export interface ClusterDto {
  name: string;
  labels: string[];
  apiUrl: string;
  enabled: boolean;
  active: boolean;
  capacity: number;
  /** A protected cluster's projects (it runs no other project's jobs); null: every project's. */
  projects: string[] | null;
  /** ISO 8601. */
  lastHeartbeatAt: string;
  /** By the database clock, in seconds with millisecond precision. */
  heartbeatAgeSeconds: number;
}

/** The last probe of `to`'s API from `from` (`GET /api/v1/clusters/reachability`). */
export interface ReachabilityDto {
  from: string;
  to: string;
  reachable: boolean;
  /** Round trip of `GET /health/live`, in milliseconds; null when no answer came. */
  rttMs: number | null;
  error: string | null;
  /** ISO 8601. */
  checkedAt: string;
}
