import type { ClusterRequirement } from '@infrabox/job-definition';

export interface CandidateCluster {
  name: string;
  labels: readonly string[];
  active: boolean;
  enabled: boolean;
  capacity: number;
  /** A protected cluster's projects; null: it runs every project's jobs. */
  projects: readonly string[] | null;
  /** Jobs placed on it that have not ended. */
  load: number;
}

export interface PlacedParent {
  name: string;
  cluster: string;
}

export interface PlacementRequest {
  job: string;
  /** The job's project: a protected cluster takes only its own projects' jobs. */
  project: string;
  requirement?: ClusterRequirement;
  /** Parents already placed (in this build's placement or earlier). */
  parents: readonly PlacedParent[];
}

/** Can `to` get bytes that sit on `from` (pull from→to, or push)? Unknown pairs count as reachable. */
export type CanTransfer = (from: string, to: string) => boolean;

/** Why no cluster was found: the label of the placement-failure metric. */
export type PlacementFailure = 'no-matching-cluster' | 'protected-cluster' | 'inputs-unreachable';

export type PlacementDecision = { cluster: string; reason: string } | { error: string; failure: PlacementFailure };

/**
 * Chooses the cluster for one job:
 * 1. only active, enabled clusters carrying every label of `cluster.selector`;
 * 2. only those that run the job's project (a protected cluster runs its `projects` only);
 * 3. only those that can get each parent's output (same cluster, or a transfer either way);
 * 4. `cluster.prefer` when it qualifies; else a parent's cluster (no transfer at all); else the
 *    least loaded relative to capacity, ties by name.
 */
export function choosePlacement(request: PlacementRequest, clusters: readonly CandidateCluster[], canTransfer: CanTransfer): PlacementDecision {
  const selector = request.requirement?.selector ?? [];
  const usable = clusters.filter((c) => c.active && c.enabled);
  const matching = usable.filter((c) => selector.every((label) => c.labels.includes(label)));
  if (matching.length === 0) {
    const wanted = selector.length > 0 ? ` carries all of the labels [${selector.join(', ')}]` : '';
    return { error: `job '${request.job}': no active, enabled cluster${wanted}; clusters: ${describeClusters(clusters)}`, failure: 'no-matching-cluster' };
  }

  const allowed = matching.filter((c) => c.projects === null || c.projects.includes(request.project));
  if (allowed.length === 0) {
    const protectedOnes = matching.map((c) => `${c.name} runs only ${c.projects!.map((p) => `'${p}'`).join(', ')}`).join('; ');
    return { error: `job '${request.job}': every matching cluster is protected and does not run project '${request.project}': ${protectedOnes}`, failure: 'protected-cluster' };
  }

  const reachable = allowed.filter((c) => request.parents.every((p) => p.cluster === c.name || canTransfer(p.cluster, c.name)));
  if (reachable.length === 0) {
    const blocked = allowed
      .map((c) => {
        const parent = request.parents.find((p) => p.cluster !== c.name && !canTransfer(p.cluster, c.name))!;
        return `${c.name} cannot get the output of '${parent.name}' from ${parent.cluster} (neither ${parent.cluster} → ${c.name} nor ${c.name} → ${parent.cluster} is reachable)`;
      })
      .join('; ');
    return { error: `job '${request.job}': no matching cluster can get its inputs: ${blocked}`, failure: 'inputs-unreachable' };
  }

  const prefer = request.requirement?.prefer;
  const preferred = prefer ? reachable.find((c) => c.name === prefer) : undefined;
  if (preferred) return { cluster: preferred.name, reason: `preferred cluster ${preferred.name}` };

  const parentClusters = new Set(request.parents.map((p) => p.cluster));
  const withParent = reachable.filter((c) => parentClusters.has(c.name));
  const pool = withParent.length > 0 ? withParent : reachable;
  const chosen = leastLoaded(pool);
  return {
    cluster: chosen.name,
    reason: withParent.length > 0 ? `stays with a parent on ${chosen.name}` : `least loaded of ${pool.length} matching cluster(s)`,
  };
}

/** One pass, not a sort: placement runs it for every job, over every matching cluster. */
function leastLoaded(pool: readonly CandidateCluster[]): CandidateCluster {
  let best = pool[0];
  for (const candidate of pool) {
    const difference = loadRatio(candidate) - loadRatio(best);
    if (difference < 0 || (difference === 0 && candidate.name < best.name)) best = candidate;
  }
  return best;
}

function loadRatio(cluster: CandidateCluster): number {
  return cluster.load / Math.max(1, cluster.capacity);
}

function describeClusters(clusters: readonly CandidateCluster[]): string {
  if (clusters.length === 0) return 'none registered';
  return clusters
    .map((c) => {
      const status = [c.active ? 'active' : 'inactive', c.enabled ? null : 'disabled'].filter(Boolean).join(', ');
      return `${c.name} [${c.labels.join(', ')}] (${status})`;
    })
    .join(', ');
}
