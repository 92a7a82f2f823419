import { generateKeyPair, JWTPayload, KeyLike, SignJWT } from 'jose';
import { AuthOptions, ClusterKeyService, JobTokenSubject, KeyRepository, TokenFactsRepository, TokenService } from '@infrabox/auth';
import { currentClusterOf, MASTER_CLUSTER } from '@infrabox/config';
import { ProjectRepository } from '@infrabox/jobs';
import { createPool, Database } from '@infrabox/database';
import { clusterConfig } from './clusters';
import { databaseUrl } from './database';

/** A TokenService of cluster `cluster` on `db`, as one app of that cluster would have it (its key: testSigningKeyFile unless told). */
export function tokenServiceFor(db: Database, cluster: string, options?: AuthOptions, signingKey?: string): TokenService {
  const config = signingKey === undefined ? clusterConfig(cluster) : { ...clusterConfig(cluster), auth: { signingKey } };
  return new TokenService(currentClusterOf(config), new ClusterKeyService(config, currentClusterOf(config), new KeyRepository(db)), new TokenFactsRepository(db), options ?? null);
}

/** The private key cluster `cluster` signs with (read or made, and pinned, as its apps do). */
export async function signingKeyOf(db: Database, cluster: string): Promise<KeyLike> {
  const config = clusterConfig(cluster);
  return (await new ClusterKeyService(config, currentClusterOf(config), new KeyRepository(db)).signingKey()).privateKey;
}

/** An Ed25519 key pair no cluster has. */
export async function strayKey(): Promise<{ privateKey: KeyLike; publicKey: KeyLike }> {
  return generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
}

/** A JWT with exactly these claims, signed with `key` (EdDSA unless told) — for forging tokens. */
export async function signRaw(payload: JWTPayload, key: KeyLike | Uint8Array, alg = 'EdDSA'): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * An admin token signed with the master's key, as `infrabox admin token` mints it (database: the
 * tests' unless told; key file: the run's master key unless told).
 */
export async function masterAdminToken(url: string = databaseUrl(), ttlSeconds = 3600, signingKey?: string): Promise<string> {
  const db = new Database(createPool(url, 1), url);
  try {
    return await tokenServiceFor(db, MASTER_CLUSTER, undefined, signingKey).issueAdminToken(ttlSeconds);
  } finally {
    await db.close();
  }
}

/**
 * A row for cluster `name`, enabled and active with a fresh heartbeat (also when an earlier test
 * left it disabled or lost, as shared names like 'master' may be): the tokens of a cluster
 * without a row, or of a disabled or lost one, are refused.
 */
export async function registeredCluster(db: Database, name: string): Promise<string> {
  await db.query(
    `INSERT INTO cluster (name, api_url) VALUES ($1, 'http://127.0.0.1:1')
     ON CONFLICT (name) DO UPDATE SET enabled = true, active = true, last_heartbeat_at = now()`,
    [name],
  );
  return name;
}

/**
 * A job placed on cluster `cluster` (a project, build and job row, queued, with `parents` as its
 * direct parents): what a job token must name to be accepted.
 */
export async function placedJob(db: Database, cluster: string, parents: readonly string[] = []): Promise<JobTokenSubject> {
  await registeredCluster(db, cluster);
  const [project] = await db.query<{ id: string }>(
    `INSERT INTO project (name) VALUES ('tok-' || substr(md5(random()::text), 1, 12)) RETURNING id`,
  );
  const [build] = await db.query<{ id: string }>(`INSERT INTO build (project_id, number) VALUES ($1, 1) RETURNING id`, [project.id]);
  const [job] = await db.query<{ id: string }>(
    `INSERT INTO job (build_id, name, type, definition, cluster_name) VALUES ($1, 'job', 'docker-image', '{}', $2) RETURNING id`,
    [build.id, cluster],
  );
  for (const parent of parents) await db.query('INSERT INTO job_dependency (job_id, parent_job_id) VALUES ($1, $2)', [job.id, parent]);
  return { id: job.id, buildId: build.id, projectId: project.id, parentIds: [...parents] };
}

/** A token of project `name` (made when missing) as the master issues it (database: the tests' unless told). */
export async function projectToken(name: string, url: string = databaseUrl(), ttlSeconds = 3600): Promise<string> {
  const db = new Database(createPool(url, 1), url);
  try {
    const project = await new ProjectRepository(db).findOrCreate(name);
    return await tokenServiceFor(db, MASTER_CLUSTER).issueProjectToken(project.id, project.name, ttlSeconds);
  } finally {
    await db.close();
  }
}
