import type { ClusterDto } from '@infrabox/contract';
import { formatTable } from './text-table';

const COLUMNS = ['NAME', 'LABELS', 'ACTIVE', 'ENABLED', 'HEARTBEAT', 'URL'] as const;

/** Lines of the `infrabox clusters` table; columns are separated by at least two spaces. */
export function formatClustersTable(clusters: readonly ClusterDto[]): string[] {
  const rows = clusters.map((cluster) => [
    cluster.name,
    cluster.labels.length > 0 ? cluster.labels.join(',') : '-',
    yesNo(cluster.active),
    yesNo(cluster.enabled),
    formatAge(cluster.heartbeatAgeSeconds),
    cluster.apiUrl,
  ]);
  return formatTable(COLUMNS, rows);
}

/** `5s ago`, `3m 20s ago`, `2h 5m ago`, `4d 1h ago`; `never` without a heartbeat. */
export function formatAge(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return 'never';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h ago`;
}

function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}

/** Checks the response really is a list of clusters (what the table shows of them), so a wrong URL gives a clear message. */
export function isClusterList(value: unknown): value is ClusterDto[] {
  return (
    Array.isArray(value) &&
    value.every(
      (item) =>
        typeof item === 'object' &&
        item !== null &&
        typeof item.name === 'string' &&
        Array.isArray(item.labels) &&
        item.labels.every((label: unknown) => typeof label === 'string') &&
        typeof item.apiUrl === 'string' &&
        typeof item.enabled === 'boolean' &&
        typeof item.active === 'boolean' &&
        (item.heartbeatAgeSeconds === null || typeof item.heartbeatAgeSeconds === 'number'),
    )
  );
}
