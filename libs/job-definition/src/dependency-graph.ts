/** Cross-job rules of one document: unique names, known dependencies, no cycles. */
import type { GraphNode } from './build-definition.parser';
import { indexPath, propertyPath, shortened, type Issues } from './readers';

/** Jobs named in a cycle message at most; a longer cycle is cut, with its length. */
const MAX_CYCLE_SHOWN = 10;

/**
 * Reports duplicate job names and bad `depends_on` entries. Dependencies may
 * point at jobs defined later in the file (InfraBox wants parents first; we
 * only require the graph to be acyclic). Cycles are only looked for when the
 * file has no other errors, so a cycle report is never a follow-up error.
 */
export function checkDependencyGraph(nodes: readonly GraphNode[], issues: Issues): void {
  const names = new Set<string>();
  for (const node of nodes) {
    if (node.name === undefined) continue;
    if (names.has(node.name)) issues.add(`${jobPath(node)}.name`, `Job name '${shortened(node.name)}' already defined`);
    names.add(node.name);
  }

  for (const node of nodes) {
    const listed = new Set<string>();
    for (const { job } of node.dependsOn ?? []) {
      const path = propertyPath(jobPath(node), 'depends_on');
      if (listed.has(job)) issues.add(path, `Job '${shortened(job)}' listed twice`);
      else if (job === node.name) issues.add(path, `Job '${shortened(job)}' depends on itself`);
      else if (!names.has(job)) issues.add(path, `Job '${shortened(job)}' not found`);
      listed.add(job);
    }
  }

  const types = new Map(nodes.map((node) => [node.name, node.type]));
  for (const node of nodes) {
    if (node.imageJob === undefined) continue;
    const path = `${jobPath(node)}.image.job`;
    const parent = node.imageJob;
    if (!names.has(parent)) issues.add(path, `Job '${shortened(parent)}' not found`);
    else if (types.get(parent) !== 'docker') issues.add(path, `Job '${shortened(parent)}' is not a docker job: only a docker job builds an image`);
    else if (!(node.dependsOn ?? []).some((d) => d.job === parent)) issues.add(path, `Job '${shortened(parent)}' must be in depends_on: the image is built before this job runs`);
  }

  if (issues.count > 0) return;
  for (const cycle of findCycles(nodes)) {
    const shown = cycle.length > MAX_CYCLE_SHOWN + 1 ? `${cycle.slice(0, MAX_CYCLE_SHOWN).join(' -> ')} -> ... (${cycle.length - 1} jobs)` : cycle.join(' -> ');
    issues.add('#jobs', `dependency cycle ${shown}`);
  }
}

function jobPath(node: GraphNode): string {
  return indexPath('#jobs', node.index);
}

/**
 * One cycle per strongly connected component, as job names where `a -> b`
 * means "a depends on b"; it starts and ends at the component's first job in
 * file order. Assumes unique names and resolvable dependencies.
 */
export function findCycles(nodes: readonly GraphNode[]): string[][] {
  const position = new Map(nodes.map((node, i) => [node.name, i]));
  const edges = nodes.map((node) =>
    (node.dependsOn ?? []).map((d) => position.get(d.job)).filter((to): to is number => to !== undefined),
  );
  return stronglyConnectedComponents(edges)
    .filter((component) => component.length > 1)
    .map((component) => cycleThrough(Math.min(...component), new Set(component), edges))
    .sort((a, b) => a[0]! - b[0]!)
    .map((cycle) => cycle.map((i) => nodes[i]?.name ?? String(i)));
}

/** Shortest cycle from `start` back to itself, staying inside `members`. */
function cycleThrough(start: number, members: ReadonlySet<number>, edges: readonly number[][]): number[] {
  const previous = new Map<number, number>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const from = queue[head]!;
    for (const to of edges[from] ?? []) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path = [start];
        for (let at = from; at !== start; at = previous.get(at)!) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!previous.has(to)) {
        previous.set(to, from);
        queue.push(to);
      }
    }
  }
  return [start, start];
}

/** Tarjan's algorithm, iterative so that long dependency chains cannot overflow the stack. */
function stronglyConnectedComponents(edges: readonly number[][]): number[][] {
  const order = new Array<number>(edges.length).fill(-1);
  const low = new Array<number>(edges.length).fill(0);
  const onStack = new Array<boolean>(edges.length).fill(false);
  const stack: number[] = [];
  const components: number[][] = [];
  let counter = 0;
  const visit = (v: number, work: Array<[number, number]>) => {
    order[v] = low[v] = counter++;
    stack.push(v);
    onStack[v] = true;
    work.push([v, 0]);
  };

  for (let root = 0; root < edges.length; root++) {
    if (order[root] !== -1) continue;
    const work: Array<[number, number]> = [];
    visit(root, work);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const [v, next] = frame;
      const targets = edges[v] ?? [];
      if (next < targets.length) {
        frame[1]++;
        const w = targets[next]!;
        if (order[w] === -1) visit(w, work);
        else if (onStack[w]) low[v] = Math.min(low[v]!, order[w]!);
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low[parent[0]] = Math.min(low[parent[0]]!, low[v]!);
      if (low[v] !== order[v]) continue;
      const component: number[] = [];
      let w: number;
      do {
        w = stack.pop()!;
        onStack[w] = false;
        component.push(w);
      } while (w !== v);
      components.push(component);
    }
  }
  return components;
}
