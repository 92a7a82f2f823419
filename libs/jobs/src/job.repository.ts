import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import type { DependencyCondition, JobDefinition } from '@infrabox/job-definition';
import { FinalJobState, Job, JobState, ParentLink } from './job.types';

interface JobRow {
  id: string;
  build_id: string;
  name: string;
  type: Job['type'];
  state: JobState;
  definition: JobDefinition;
  cluster_name: string | null;
  message: string | null;
  exit_code: number | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const COLUMNS = 'id, build_id, name, type, state, definition, cluster_name, message, exit_code, created_at, started_at, finished_at';

export interface NewDependency {
  jobId: string;
  parentId: string;
  on: DependencyCondition[];
}

export interface JobWithParents {
  job: Job;
  parents: ParentLink[];
  /** Whether the job's build has a source, and whether the job's cluster holds a copy of it. */
  source: { required: boolean; here: boolean };
}

export interface TransitionFields {
  message?: string | null;
  exitCode?: number | null;
}

/** SQL for `job` and `job_dependency` (the edges belong to the jobs they join). */
@Injectable()
export class JobRepository {
  constructor(private readonly db: Database) {}

  async insertMany(buildId: string, definitions: readonly JobDefinition[]): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(
      `INSERT INTO job (build_id, name, type, definition)
       SELECT $1, name, type, definition FROM unnest($2::text[], $3::text[], $4::jsonb[]) AS t(name, type, definition)
       RETURNING ${COLUMNS}`,
      [buildId, definitions.map((d) => d.name), definitions.map((d) => d.type), definitions.map((d) => JSON.stringify(d))],
    );
    return rows.map(toJob);
  }

  async insertDependencies(dependencies: readonly NewDependency[]): Promise<void> {
    if (dependencies.length === 0) return;
    await this.db.query(
      `INSERT INTO job_dependency (job_id, parent_job_id, on_states)
       SELECT job_id, parent_id, ARRAY(SELECT jsonb_array_elements_text(on_json::jsonb))
         FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS t(job_id, parent_id, on_json)`,
      [dependencies.map((d) => d.jobId), dependencies.map((d) => d.parentId), dependencies.map((d) => JSON.stringify(d.on))],
    );
  }

  async findById(id: string): Promise<Job | null> {
    const [row] = await this.db.query<JobRow>(`SELECT ${COLUMNS} FROM job WHERE id = $1`, [id]);
    return row ? toJob(row) : null;
  }

  async findByBuild(buildId: string): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(`SELECT ${COLUMNS} FROM job WHERE build_id = $1 ORDER BY created_at, name`, [buildId]);
    return rows.map(toJob);
  }

  /** Queued jobs that have no cluster yet (placement missed or not yet done). */
  async findUnplaced(limit = 1000): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(
      `SELECT ${COLUMNS} FROM job WHERE state = 'queued' AND cluster_name IS NULL ORDER BY created_at LIMIT $1`,
      [limit],
    );
    return rows.map(toJob);
  }

  async findQueuedOn(cluster: string): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(
      `SELECT ${COLUMNS} FROM job WHERE state = 'queued' AND cluster_name = $1 ORDER BY created_at`,
      [cluster],
    );
    return rows.map(toJob);
  }

  /**
   * Takes over the jobs running on `cluster` that no registered scheduler runner holds (theirs
   * stopped, or died and was taken by the orphan recovery): they become `runnerId`'s. Only for
   * executors whose jobs outlive the scheduler (pods). Conditional, so one runner gets each.
   */
  async adoptOrphanedRunning(cluster: string, runnerId: string): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(
      `UPDATE job SET runner_id = $2
        WHERE state = 'running' AND cluster_name = $1
          AND (runner_id IS NULL OR NOT EXISTS (SELECT 1 FROM scheduler_runner r WHERE r.id = job.runner_id))
        RETURNING ${COLUMNS}`,
      [cluster, runnerId],
    );
    return rows.map(toJob);
  }

  /** Jobs queued on `cluster` whose parents have all ended: the ones a scheduler may decide on now. */
  async findDecidableOn(cluster: string, limit = 500): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(
      `SELECT ${COLUMNS} FROM job j
        WHERE j.state = 'queued' AND j.cluster_name = $1
          AND NOT EXISTS (
            SELECT 1 FROM job_dependency d JOIN job p ON p.id = d.parent_job_id
             WHERE d.job_id = j.id AND p.state IN ('queued', 'scheduled', 'running'))
        ORDER BY j.created_at LIMIT $2`,
      [cluster, limit],
    );
    return rows.map(toJob);
  }

  /**
   * Locks the queued jobs without a cluster of a build and of up to `moreBuilds` other builds
   * waiting for placement (oldest first), so that one transaction places a backlog many builds
   * at a time. SKIP LOCKED: when several schedulers race for the same builds, the first takes
   * the rows and the others get none.
   */
  async lockUnplacedOfBuilds(buildId: string, moreBuilds: number): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(
      `SELECT ${COLUMNS} FROM job
        WHERE state = 'queued' AND cluster_name IS NULL
          AND build_id IN (
            SELECT $1::uuid
            UNION ALL
            (SELECT build_id FROM job
              WHERE state = 'queued' AND cluster_name IS NULL AND build_id <> $1
              GROUP BY build_id ORDER BY min(created_at) LIMIT $2))
        FOR UPDATE SKIP LOCKED`,
      [buildId, moreBuilds],
    );
    return rows.map(toJob);
  }

  /** Locks the queued jobs of a cluster and takes their cluster away, for placing them again. */
  async unplaceQueuedOn(cluster: string): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(
      `UPDATE job SET cluster_name = NULL
        WHERE id IN (SELECT id FROM job WHERE state = 'queued' AND cluster_name = $1 FOR UPDATE SKIP LOCKED)
        RETURNING ${COLUMNS}`,
      [cluster],
    );
    return rows.map(toJob);
  }

  /** Builds with queued jobs left without a cluster for longer than `olderThanSeconds`. */
  async buildsWithUnplacedJobs(olderThanSeconds: number): Promise<string[]> {
    const rows = await this.db.query<{ build_id: string }>(
      `SELECT DISTINCT build_id FROM job
        WHERE state = 'queued' AND cluster_name IS NULL AND created_at < now() - make_interval(secs => $1)`,
      [olderThanSeconds],
    );
    return rows.map((r) => r.build_id);
  }

  /** Every job of some builds (placement reads them together). */
  async findByBuilds(buildIds: readonly string[]): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(`SELECT ${COLUMNS} FROM job WHERE build_id = ANY($1::uuid[]) ORDER BY created_at, name`, [buildIds]);
    return rows.map(toJob);
  }

  /** Every edge of some builds: child → parent. */
  async dependenciesOfBuilds(buildIds: readonly string[]): Promise<Array<{ jobId: string; parentId: string }>> {
    return this.db.query(
      `SELECT d.job_id AS "jobId", d.parent_job_id AS "parentId"
         FROM job_dependency d JOIN job j ON j.id = d.job_id WHERE j.build_id = ANY($1::uuid[])`,
      [buildIds],
    );
  }

  /** Jobs with their parents, in one round trip (the scheduler's hot path). */
  async findManyWithParents(jobIds: readonly string[]): Promise<JobWithParents[]> {
    return this.withParents('j.id = ANY($1::uuid[])', [jobIds], 'job_many_with_parents');
  }

  /** The queued children of a job placed on `cluster`, each with all its parents. */
  async queuedChildrenWithParents(parentId: string, cluster: string): Promise<JobWithParents[]> {
    return this.withParents(
      `j.state = 'queued' AND j.cluster_name = $2 AND j.id IN (SELECT job_id FROM job_dependency WHERE parent_job_id = $1)`,
      [parentId, cluster],
      'job_queued_children_with_parents',
    );
  }

  /** The queued jobs of a build placed on `cluster`, each with all its parents. */
  async queuedOfBuildWithParents(buildId: string, cluster: string): Promise<JobWithParents[]> {
    return this.withParents(`j.state = 'queued' AND j.cluster_name = $2 AND j.build_id = $1`, [buildId, cluster], 'job_queued_of_build_with_parents');
  }

  private async withParents(where: string, params: unknown[], name: string): Promise<JobWithParents[]> {
    const rows = await this.db.query<JobRow & { parents: ParentLink[]; source_required: boolean; source_here: boolean }>(
      `SELECT ${COLUMNS.split(', ').map((c) => `j.${c}`).join(', ')},
              coalesce(json_agg(json_build_object(
                'parentId', p.id, 'parentName', p.name, 'parentState', p.state,
                'parentCluster', p.cluster_name, 'on', d.on_states,
                'outputSize', origin.size_bytes, 'outputHere', here.job_id IS NOT NULL,
                'imageWanted', coalesce(j.definition->'image'->>'job' = p.name, false), 'imageHere', image.job_id IS NOT NULL)) FILTER (WHERE p.id IS NOT NULL), '[]') AS parents,
              EXISTS (SELECT 1 FROM build_source s WHERE s.build_id = j.build_id) AS source_required,
              EXISTS (SELECT 1 FROM build_source s WHERE s.build_id = j.build_id AND s.cluster_name = j.cluster_name) AS source_here
         FROM job j
         LEFT JOIN job_dependency d ON d.job_id = j.id
         LEFT JOIN job p ON p.id = d.parent_job_id
         LEFT JOIN job_output origin ON origin.job_id = p.id AND origin.cluster_name = p.cluster_name
         LEFT JOIN job_output here ON here.job_id = p.id AND here.cluster_name = j.cluster_name
         LEFT JOIN job_image image ON image.job_id = p.id AND image.cluster_name = j.cluster_name
        WHERE ${where}
        GROUP BY j.id`,
      params,
      name,
    );
    return rows.map((row) => ({ job: toJob(row), parents: row.parents, source: { required: row.source_required, here: row.source_here } }));
  }


  /** Sets the cluster (and the note shown with the job) of a queued job; null when it is no longer queued. */
  async place(jobId: string, cluster: string, message: string | null = null): Promise<Job | null> {
    const [row] = await this.db.query<JobRow>(
      `UPDATE job SET cluster_name = $2, message = $3 WHERE id = $1 AND state = 'queued' RETURNING ${COLUMNS}`,
      [jobId, cluster, message],
    );
    return row ? toJob(row) : null;
  }

  /**
   * Moves a job from one of `from` to `to`, only if it is still in one of `from`: of several
   * schedulers racing for a job, exactly one gets the row back.
   */
  async transition(jobId: string, from: readonly JobState[], to: JobState, fields: TransitionFields = {}): Promise<Job | null> {
    const [row] = await this.db.query<JobRow>(
      `UPDATE job
          SET state = $3::job_state,
              message = CASE WHEN $3::job_state = 'scheduled' THEN NULL ELSE coalesce($4, message) END,
              exit_code = coalesce($5, exit_code),
              started_at = CASE WHEN $3::job_state = 'running' THEN now() ELSE started_at END,
              finished_at = CASE WHEN $3::job_state IN ('finished', 'failure', 'error', 'killed', 'skipped', 'unstable')
                                 THEN now() ELSE finished_at END
        WHERE id = $1 AND state = ANY($2::job_state[])
        RETURNING ${COLUMNS}`,
      [jobId, from, to, fields.message ?? null, fields.exitCode ?? null],
      'job_transition',
    );
    return row ? toJob(row) : null;
  }

  /**
   * Claims queued jobs placed on `cluster` and marks them running, in one statement; returns the
   * ones it got (not those another replica took, re-homed elsewhere, or aborted meanwhile).
   */
  async startMany(jobIds: readonly string[], cluster: string, runnerId: string | null = null): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(
      `UPDATE job SET state = 'running', message = NULL, started_at = now(), runner_id = $3
        WHERE id = ANY($1::uuid[]) AND state = 'queued' AND cluster_name = $2
        RETURNING ${COLUMNS}`,
      [jobIds, cluster, runnerId],
      'job_start_many',
    );
    return rows.map(toJob);
  }

  /**
   * Gives jobs a runner claimed but never launched back to the queue (a stopping scheduler);
   * only jobs still running under that runner move. Returns the ones it moved.
   */
  async requeueMany(jobIds: readonly string[], runnerId: string): Promise<Job[]> {
    if (jobIds.length === 0) return [];
    const rows = await this.db.query<JobRow>(
      `UPDATE job SET state = 'queued', started_at = NULL, runner_id = NULL
        WHERE id = ANY($1::uuid[]) AND state = 'running' AND runner_id = $2
        RETURNING ${COLUMNS}`,
      [jobIds, runnerId],
    );
    return rows.map(toJob);
  }

  /** Ids of the jobs the given runners hold (scheduled or running), locked until the transaction ends. */
  async lockActiveOfRunners(runnerIds: readonly string[]): Promise<Array<{ id: string; runnerId: string }>> {
    if (runnerIds.length === 0) return [];
    const rows = await this.db.query<{ id: string; runner_id: string }>(
      `SELECT id, runner_id FROM job WHERE runner_id = ANY($1::text[]) AND state IN ('scheduled', 'running') ORDER BY id FOR UPDATE`,
      [runnerIds],
    );
    return rows.map((r) => ({ id: r.id, runnerId: r.runner_id }));
  }

  /**
   * Ends many jobs in one statement, each only from its own allowed states; returns the ones it
   * moved, each with the clusters holding its queued children (for the end event).
   */
  async endMany(
    ends: ReadonlyArray<{ jobId: string; from: readonly JobState[]; state: FinalJobState } & TransitionFields>,
  ): Promise<Array<{ job: Job; queuedChildClusters: string[] }>> {
    const rows = await this.db.query<JobRow & { child_clusters: string[] }>(
      `UPDATE job
          SET state = e.state::job_state,
              message = coalesce(e.message, job.message),
              exit_code = coalesce(e.exit_code, job.exit_code),
              finished_at = now()
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[]) AS e(id, state, message, exit_code, from_states)
        WHERE job.id = e.id AND job.state::text = ANY(string_to_array(e.from_states, ','))
        RETURNING ${COLUMNS.split(', ').map((c) => `job.${c}`).join(', ')},
          ARRAY(SELECT DISTINCT c.cluster_name FROM job_dependency d JOIN job c ON c.id = d.job_id
                 WHERE d.parent_job_id = job.id AND c.state = 'queued' AND c.cluster_name IS NOT NULL) AS child_clusters`,
      [
        ends.map((e) => e.jobId),
        ends.map((e) => e.state),
        ends.map((e) => e.message ?? null),
        ends.map((e) => e.exitCode ?? null),
        ends.map((e) => e.from.join(',')),
      ],
      'job_end_many',
    );
    return rows.map((row) => ({ job: toJob(row), queuedChildClusters: row.child_clusters }));
  }

  /** Sets the cluster of many queued jobs in one statement; returns the ids it placed. */
  async placeMany(assignments: ReadonlyArray<{ jobId: string; cluster: string }>): Promise<string[]> {
    if (assignments.length === 0) return [];
    const rows = await this.db.query<{ id: string }>(
      `UPDATE job j SET cluster_name = a.cluster, message = NULL
         FROM unnest($1::uuid[], $2::text[]) AS a(id, cluster)
        WHERE j.id = a.id AND j.state = 'queued'
        RETURNING j.id`,
      [assignments.map((a) => a.jobId), assignments.map((a) => a.cluster)],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Shows why queued jobs on `cluster` still wait — the children of `parentId`, or (without a
   * parent) every queued job of `buildId` there. Starting a job clears its message.
   */
  async noteOnWaitingJobs(where: { parentId: string } | { buildId: string }, cluster: string, message: string): Promise<number> {
    const [condition, id] =
      'parentId' in where
        ? ['id IN (SELECT job_id FROM job_dependency WHERE parent_job_id = $1)', where.parentId]
        : ['build_id = $1', where.buildId];
    const rows = await this.db.query(
      `UPDATE job SET message = $3 WHERE state = 'queued' AND cluster_name = $2 AND ${condition} RETURNING id`,
      [id, cluster, message],
    );
    return rows.length;
  }

  /** Running jobs per cluster (the dashboard's clusters page). */
  async countRunningByCluster(): Promise<Map<string, number>> {
    const rows = await this.db.query<{ cluster_name: string; n: number }>(
      `SELECT cluster_name, count(*)::int AS n FROM job
        WHERE cluster_name IS NOT NULL AND state = 'running'
        GROUP BY cluster_name`,
    );
    return new Map(rows.map((r) => [r.cluster_name, r.n]));
  }

  /** How many jobs of each build are in each state. */
  async stateCountsOfBuilds(buildIds: readonly string[]): Promise<Map<string, Partial<Record<JobState, number>>>> {
    const counts = new Map<string, Partial<Record<JobState, number>>>();
    if (buildIds.length === 0) return counts;
    const rows = await this.db.query<{ build_id: string; state: JobState; n: number }>(
      `SELECT build_id, state, count(*)::int AS n FROM job WHERE build_id = ANY($1::uuid[]) GROUP BY build_id, state`,
      [buildIds],
    );
    for (const row of rows) counts.set(row.build_id, { ...counts.get(row.build_id), [row.state]: row.n });
    return counts;
  }

  /** Jobs not yet ended per cluster, for least-loaded placement. */
  async countUnfinishedByCluster(): Promise<Map<string, number>> {
    const rows = await this.db.query<{ cluster_name: string; n: number }>(
      `SELECT cluster_name, count(*)::int AS n FROM job
        WHERE cluster_name IS NOT NULL AND state IN ('queued', 'scheduled', 'running')
        GROUP BY cluster_name`,
    );
    return new Map(rows.map((r) => [r.cluster_name, r.n]));
  }

  /**
   * Jobs of `cluster` per state, plus (with `withUnplaced`) the jobs no cluster has yet, under
   * cluster null. Reads only the (cluster_name, state) index; for metrics scrapes.
   */
  async countByState(cluster: string, withUnplaced: boolean): Promise<Array<{ cluster: string | null; state: JobState; count: number }>> {
    const rows = await this.db.query<{ cluster_name: string | null; state: JobState; n: number }>(
      `SELECT cluster_name, state, count(*)::int AS n FROM job
        WHERE cluster_name = $1 OR ($2 AND cluster_name IS NULL)
        GROUP BY cluster_name, state`,
      [cluster, withUnplaced],
    );
    return rows.map((r) => ({ cluster: r.cluster_name, state: r.state, count: r.n }));
  }

  /**
   * Whether a job of a build of project `projectName` waits or runs on `cluster` (queued there,
   * scheduled or running): what lets that peer pull the project's images from this cluster's
   * registry. Reads the (cluster_name, state) index.
   */
  async hasActiveJobOfProjectOn(cluster: string, projectName: string): Promise<boolean> {
    const [row] = await this.db.query<{ active: boolean }>(
      `SELECT EXISTS (
         SELECT 1 FROM job j JOIN build b ON b.id = j.build_id JOIN project p ON p.id = b.project_id
          WHERE j.cluster_name = $1 AND j.state IN ('queued', 'scheduled', 'running') AND p.name = $2
       ) AS active`,
      [cluster, projectName],
    );
    return row?.active === true;
  }
}

function toJob(row: JobRow): Job {
  return {
    id: row.id,
    buildId: row.build_id,
    name: row.name,
    type: row.type,
    state: row.state,
    definition: row.definition,
    cluster: row.cluster_name,
    message: row.message,
    exitCode: row.exit_code,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
