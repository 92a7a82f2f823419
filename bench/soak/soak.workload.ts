/** Builds for the soak: chains, fan-outs and a few fan-ins, every job pinned to a worker by selector. */

export interface WorkloadOptions {
  /** Worker labels; every job selects exactly one. */
  labels: string[];
  jobsPerBuild: number;
  /** Share of dependency edges whose child runs on another worker than its parent. */
  crossShare: number;
  /** Where jobs append `<job id> <pid>` (executions) and input/output digests. */
  executionsLog: string;
  digestsLog: string;
  /** Random source in [0, 1): seeded by the caller so a run can be repeated. */
  random: () => number;
}

export interface JobSpec {
  name: string;
  type: 'docker-image';
  image: string;
  command: string[];
  cluster: { selector: string[] };
  depends_on?: string[];
}

export interface BuildSpec {
  definition: { version: 1; jobs: JobSpec[] };
  /** Edges whose ends select different workers. */
  crossEdges: number;
  edges: number;
}

/** Bytes of the output a parent leaves for a child on another worker. */
export const OUTPUT_BYTES = 3000;

export function generateBuild(options: WorkloadOptions, jobCount = options.jobsPerBuild): BuildSpec {
  const { labels, random } = options;
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const home = pick(labels);
  const nodes: Array<{ label: string; parents: number[] }> = [{ label: home, parents: [] }];
  for (let i = 1; i < jobCount; i++) {
    // Half chain (the previous job), half fan-out (one of the last few); one in ten also fans in.
    const first = random() < 0.5 ? i - 1 : Math.max(0, i - 1 - Math.floor(random() * 8));
    const parents = [first];
    if (i > 2 && random() < 0.1) {
      const second = Math.floor(random() * i);
      if (second !== first) parents.push(second);
    }
    const parentLabel = nodes[first].label;
    const label = random() < options.crossShare ? pick(labels.filter((l) => l !== parentLabel)) : parentLabel;
    nodes.push({ label, parents });
  }

  const crossChildren = nodes.map(() => false);
  let crossEdges = 0;
  let edges = 0;
  nodes.forEach((node) =>
    node.parents.forEach((p) => {
      edges++;
      if (nodes[p].label !== node.label) {
        crossEdges++;
        crossChildren[p] = true;
      }
    }),
  );

  const jobs = nodes.map((node, i): JobSpec => {
    const steps = ['set -e', `echo "$INFRABOX_JOB_ID $$" >> ${quote(options.executionsLog)}`];
    for (const p of node.parents) {
      if (nodes[p].label === node.label) continue;
      // What arrived from the other worker, as the job sees it.
      steps.push(`h=$(sha256sum < "$INFRABOX_INPUTS/j${p}/data.bin")`, `echo "$INFRABOX_JOB_ID in j${p} \${h%% *}" >> ${quote(options.digestsLog)}`);
    }
    if (crossChildren[i]) {
      steps.push(
        `head -c ${OUTPUT_BYTES} /dev/urandom > "$INFRABOX_OUTPUT/data.bin"`,
        `h=$(sha256sum < "$INFRABOX_OUTPUT/data.bin")`,
        `echo "$INFRABOX_JOB_ID out \${h%% *}" >> ${quote(options.digestsLog)}`,
      );
    }
    return {
      name: `j${i}`,
      type: 'docker-image',
      image: 'none',
      command: ['sh', '-c', steps.join('; ')],
      cluster: { selector: [node.label] },
      ...(node.parents.length > 0 ? { depends_on: node.parents.map((p) => `j${p}`) } : {}),
    };
  });
  return { definition: { version: 1, jobs }, crossEdges, edges };
}

/** A small seeded PRNG (mulberry32), so the same seed gives the same builds. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
