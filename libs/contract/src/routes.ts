/**
 * The paths of the API's routes, as clients call them (parameters are URL-encoded here). The api's
 * controllers spell the same paths out in their decorators, which test/sweep/api-routes.ts reads;
 * routes.spec.ts checks both agree.
 */
const API = '/api/v1';
const segment = encodeURIComponent;

/** With `?query` when the query has anything in it. */
function withQuery(path: string, query?: URLSearchParams): string {
  const text = query?.toString() ?? '';
  return text === '' ? path : `${path}?${text}`;
}

export const ROUTES = {
  health: { live: '/health/live', ready: '/health/ready' },
  auth: {
    config: `${API}/auth/config`,
    whoami: `${API}/auth/whoami`,
    device: `${API}/auth/device`,
    deviceToken: `${API}/auth/device/token`,
  },
  clusters: `${API}/clusters`,
  reachability: `${API}/clusters/reachability`,
  clusterAdmin: (name: string, action: 'enable' | 'disable') => `${API}/admin/clusters/${segment(name)}/${action}`,
  projectMembers: (project: string, username?: string) =>
    `${API}/admin/projects/${segment(project)}/members${username === undefined ? '' : `/${segment(username)}`}`,
  projectTokens: (project: string) => `${API}/admin/projects/${segment(project)}/tokens`,
  projectBuilds: (project: string) => `${API}/projects/${segment(project)}/builds`,
  projectSource: (project: string) => `${API}/projects/${segment(project)}/source`,
  builds: (query?: URLSearchParams) => withQuery(`${API}/builds`, query),
  build: (id: string) => `${API}/builds/${segment(id)}`,
  job: (id: string) => `${API}/jobs/${segment(id)}`,
  jobConsole: (id: string, after: number) => `${API}/jobs/${segment(id)}/console?after=${after}`,
  events: (query?: URLSearchParams) => withQuery(`${API}/events`, query),
  eventStream: (query?: URLSearchParams) => withQuery(`${API}/events/stream`, query),
  /** What a running job calls with its own job token (the in-pod agent). */
  jobData: {
    source: (jobId: string) => `${API}/jobs/${segment(jobId)}/source`,
    input: (jobId: string, parentId: string) => `${API}/jobs/${segment(jobId)}/inputs/${segment(parentId)}`,
    output: (jobId: string) => `${API}/jobs/${segment(jobId)}/output`,
  },
} as const;
