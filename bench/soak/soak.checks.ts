import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';

const FINAL = ['finished', 'failure', 'error', 'killed', 'skipped', 'unstable'];

export interface KillWindow {
  cluster: string;
  /** The killed scheduler's pid: the recovery of its jobs must name it. */
  schedulerPid: number;
  killedAt: Date;
  restartedAt: Date;
}

export interface CheckInput {
  client: Client;
  executionsLog: string;
  digestsLog: string;
  /** Storage folder (local backend) of each cluster, by name. */
  storageDirs: Map<string, string>;
  kill: KillWindow | null;
}

export interface CheckResult {
  jobs: number;
  lost: number;
  doubleRuns: number;
  badInputs: number;
  unhandledEvents: number;
  /** Jobs that ended in error because their worker was killed under them. */
  endedByKill: number;
  forwardedCopies: number;
  /** A few examples of each fault, for the log. */
  examples: string[];
}

interface JobRow {
  id: string;
  build_id: string;
  name: string;
  state: string;
  cluster_name: string | null;
  message: string | null;
  started_at: Date | null;
}

/** Checks a finished soak from the database and the logs the jobs wrote outside it. */
export async function checkSoak(input: CheckInput): Promise<CheckResult> {
  const { client } = input;
  const examples: string[] = [];
  const note = (text: string) => examples.length < 40 && examples.push(text);

  const jobs = (await client.query<JobRow>('SELECT id, build_id, name, state, cluster_name, message, started_at FROM job')).rows;
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const byName = new Map(jobs.map((j) => [`${j.build_id}/${j.name}`, j]));
  const parents = new Map<string, Array<{ parent: JobRow; on: string[] }>>();
  for (const dep of (await client.query<{ job_id: string; parent_job_id: string; on_states: string[] }>('SELECT job_id, parent_job_id, on_states FROM job_dependency')).rows) {
    const list = parents.get(dep.job_id) ?? [];
    list.push({ parent: byId.get(dep.parent_job_id)!, on: dep.on_states });
    parents.set(dep.job_id, list);
  }

  const executions = new Map<string, number>();
  for (const line of await lines(input.executionsLog)) {
    const [jobId] = line.split(' ');
    executions.set(jobId, (executions.get(jobId) ?? 0) + 1);
  }
  const produced = new Map<string, string>();
  const received: Array<{ jobId: string; parentName: string; sha: string }> = [];
  for (const line of await lines(input.digestsLog)) {
    const [jobId, kind, a, b] = line.split(' ');
    if (kind === 'out') produced.set(jobId, a);
    else received.push({ jobId, parentName: a, sha: b });
  }

  // Lost: a job whose final state neither its definition nor the faults explain.
  let lost = 0;
  let endedByKill = 0;
  const lostKinds = new Map<string, number>();
  for (const job of jobs) {
    const runs = executions.get(job.id) ?? 0;
    let explained = false;
    if (job.state === 'finished') explained = runs >= 1;
    else if (job.state === 'skipped') explained = (parents.get(job.id) ?? []).some(({ parent, on }) => FINAL.includes(parent.state) && !on.includes(parent.state));
    else if (
      job.state === 'error' &&
      input.kill &&
      job.cluster_name === input.kill.cluster &&
      job.started_at &&
      job.started_at <= input.kill.restartedAt &&
      // Ended by the recovery of a dead scheduler's jobs, which names it.
      (job.message ?? '').includes(`pid ${input.kill.schedulerPid} `)
    ) {
      explained = true;
      endedByKill++;
    }
    if (!explained) {
      lost++;
      const blocked = job.state === 'queued' && (parents.get(job.id) ?? []).some(({ parent }) => !FINAL.includes(parent.state));
      const kind = blocked ? 'queued behind a parent that did not end' : `${job.state} on ${job.cluster_name}`;
      lostKinds.set(kind, (lostKinds.get(kind) ?? 0) + 1);
      if (!blocked) note(`lost: job ${job.id} (${job.build_id}/${job.name}) ${job.state} on ${job.cluster_name}, ${runs} run(s)${job.message ? `: ${job.message}` : ''}`);
    }
  }

  for (const [kind, n] of lostKinds) note(`lost: ${n} job(s) ${kind}`);

  let doubleRuns = 0;
  for (const [jobId, runs] of executions) {
    if (runs < 2) continue;
    doubleRuns++;
    note(`double run: job ${jobId} ran ${runs} times`);
  }

  // Bad inputs: what a child saw of a parent on another worker differs from what the parent wrote,
  // a child that ran saw nothing, or a forwarded copy's bytes differ from the source's digest.
  let badInputs = 0;
  const seen = new Set<string>();
  for (const r of received) {
    const child = byId.get(r.jobId);
    const parent = child && byName.get(`${child.build_id}/${r.parentName}`);
    seen.add(`${r.jobId}/${r.parentName}`);
    if (!parent || produced.get(parent.id) !== r.sha) {
      badInputs++;
      note(`bad input: job ${r.jobId} saw ${r.parentName} as ${r.sha}, its parent wrote ${parent ? produced.get(parent.id) : '?'}`);
    }
  }
  for (const job of jobs) {
    if (job.state !== 'finished') continue;
    for (const { parent } of parents.get(job.id) ?? []) {
      if (parent.cluster_name === job.cluster_name || !produced.has(parent.id) || seen.has(`${job.id}/${parent.name}`)) continue;
      badInputs++;
      note(`bad input: job ${job.id} finished without recording its input from ${parent.name}`);
    }
  }
  const copies = (
    await client.query<{ job_id: string; cluster_name: string; storage_key: string | null; sha256: string; source_sha256: string }>(
      `SELECT o.job_id, o.cluster_name, o.storage_key, o.sha256, src.sha256 AS source_sha256
         FROM job_output o JOIN job j ON j.id = o.job_id
         JOIN job_output src ON src.job_id = o.job_id AND src.cluster_name = j.cluster_name
        WHERE o.cluster_name <> j.cluster_name`,
    )
  ).rows;
  for (const copy of copies) {
    const dir = input.storageDirs.get(copy.cluster_name);
    const actual = copy.storage_key && dir ? await sha256Of(path.join(dir, 'objects', ...copy.storage_key.split('/'))) : null;
    if (copy.sha256 !== copy.source_sha256 || (copy.storage_key && actual !== copy.source_sha256)) {
      badInputs++;
      note(`bad input: copy of ${copy.job_id}'s output on ${copy.cluster_name} has ${actual ?? copy.sha256}, the source ${copy.source_sha256}`);
    }
  }

  const unhandledEvents = await countUnhandledEvents(client, note);
  return { jobs: jobs.length, lost, doubleRuns, badInputs, unhandledEvents, endedByKill, forwardedCopies: copies.length, examples };
}

/**
 * Events some consumer has not handled: rows of its type and cluster at or above its durable
 * horizon that are not among its handled ids, plus every dead letter.
 */
export async function countUnhandledEvents(client: Client, note: (text: string) => void = () => undefined): Promise<number> {
  const pending = (
    await client.query<{ consumer: string; n: string }>(
      `SELECT c.name AS consumer, count(e.id) AS n
         FROM event_consumer c
         JOIN event e ON e.type = split_part(c.name, ':', 3)
                     AND (e.cluster IS NULL OR e.cluster = split_part(c.name, ':', 2))
                     AND e.tx_id >= c.horizon
                     AND NOT (e.id = ANY (c.handled_ids))
        GROUP BY c.name`,
    )
  ).rows;
  const dead = (await client.query<{ consumer: string; event_id: string; error: string }>('SELECT consumer, event_id, error FROM event_dead_letter')).rows;
  for (const p of pending) note(`unhandled: ${p.n} event(s) for ${p.consumer}`);
  for (const d of dead) note(`dead letter: event ${d.event_id} for ${d.consumer}: ${d.error}`);
  return pending.reduce((sum, p) => sum + Number(p.n), 0) + dead.length;
}

async function lines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line.trim() !== '');
}

async function sha256Of(file: string): Promise<string | null> {
  try {
    return createHash('sha256').update(await readFile(file)).digest('hex');
  } catch {
    return null;
  }
}
