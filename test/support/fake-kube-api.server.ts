import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects as plain JSON */
type KubeObject = { apiVersion: string; kind: string; metadata: any; spec?: any; status?: any };
type Kind = 'jobs' | 'pods' | 'secrets';
interface WatchEvent {
  kind: Kind;
  namespace: string;
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
}

/**
 * A Kubernetes API server on loopback (HTTP), enough for the Kubernetes executor, shaped from
 * the API reference: list, create, get, watch and delete of batch/v1 Jobs and core/v1 Pods,
 * create, get and delete of core/v1 Secrets, and pods/log per container (follow). It plays the
 * Job controller and the garbage collector too: creating a Job creates its pod (phase Pending);
 * deleting a Job deletes its pods and the Secrets it owns (ownerReferences). Tests drive the
 * pods through the methods below (phases, container states, log text, deadline, deletion) and
 * can compact the watch history so that a watch from an old resourceVersion gets 410 Gone.
 */
export class FakeKubeApiServer {
  readonly requests: RecordedRequest[] = [];
  private readonly objects: Record<Kind, Map<string, KubeObject>> = { jobs: new Map(), pods: new Map(), secrets: new Map() };
  private readonly history: WatchEvent[] = [];
  private oldestRv = 0;
  private rv = 100;
  private readonly watchers = new Set<{ kind: Kind; namespace: string; selector: Record<string, string>; res: ServerResponse }>();
  private readonly logs = new Map<string, { text: string; closed: boolean; followers: Set<ServerResponse> }>();
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) w.res.end();
    for (const log of this.logs.values()) for (const f of log.followers) f.end();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A kubeconfig for this server (`insecure-skip-tls-verify`, as an http server needs with this client). */
  kubeconfig(namespace: string): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: fake\n  cluster:\n    server: ${this.url}\n    insecure-skip-tls-verify: true`,
      'users:',
      '- name: tester\n  user:\n    token: fake-token',
      'contexts:',
      `- name: fake\n  context:\n    cluster: fake\n    user: tester\n    namespace: ${namespace}`,
      'current-context: fake',
      '',
    ].join('\n');
  }

  jobs(): KubeObject[] {
    return [...this.objects.jobs.values()];
  }

  job(name: string): KubeObject | undefined {
    return [...this.objects.jobs.values()].find((j) => j.metadata.name === name);
  }

  secret(name: string): KubeObject | undefined {
    return [...this.objects.secrets.values()].find((s) => s.metadata.name === name);
  }

  /** The pod of the Job labelled with this InfraBox job id. */
  podOf(jobId: string): KubeObject | undefined {
    return [...this.objects.pods.values()].find((p) => p.metadata.labels?.['infrabox.net/job-id'] === jobId);
  }

  /** Replaces the pod's status fields (phase, containerStatuses, …), as the kubelet would. */
  setPodStatus(podName: string, status: Record<string, unknown>): void {
    const pod = this.find('pods', podName);
    pod.status = { ...pod.status, ...status };
    this.modified('pods', pod);
  }

  /** What the Job controller does when activeDeadlineSeconds passes: the Job fails, its pod is deleted. */
  exceedDeadline(jobName: string): void {
    const job = this.find('jobs', jobName);
    job.status = {
      ...job.status,
      active: 0,
      failed: 1,
      conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' }],
    };
    this.modified('jobs', job);
    for (const pod of this.podsOfJob(jobName)) this.remove('pods', pod);
  }

  /** `kubectl delete job NAME`: the Job and, in the background, its pods and the Secrets it owns. */
  deleteJob(jobName: string): void {
    this.removeJob(this.find('jobs', jobName), true);
  }

  deletePod(podName: string): void {
    this.remove('pods', this.find('pods', podName));
  }

  /** Adds to the log of one container of the pod (the job container's unless named). */
  appendLog(podName: string, text: string, container = 'job'): void {
    const log = this.logOf(podName, container);
    log.text += text;
    for (const follower of log.followers) follower.write(text);
  }

  /** Ends the log of one container of the pod (the job container's unless named): its followers' streams end. */
  closeLog(podName: string, container = 'job'): void {
    const log = this.logOf(podName, container);
    log.closed = true;
    for (const follower of log.followers) follower.end();
    log.followers.clear();
  }

  /**
   * Forgets the watch history, as etcd compaction does after writes the watchers have not seen
   * (other objects'): a watch resuming from any resourceVersion handed out so far gets 410 Gone.
   */
  compact(): void {
    this.history.length = 0;
    this.rv += 1;
    this.oldestRv = this.rv;
  }

  /** Watch connections open on `kind` right now. */
  openWatches(kind: Kind): number {
    return [...this.watchers].filter((w) => w.kind === kind).length;
  }

  /** Ends every open watch connection (as an API server restart or a watch timeout does). */
  dropWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url!, 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(req.method!) ? await readJson(req) : undefined;
    this.requests.push({ method: req.method!, path: url.pathname, query, body });
    const route =
      /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/(jobs)(?:\/([^/]+))?$/.exec(url.pathname) ??
      /^\/api\/v1\/namespaces\/([^/]+)\/(pods)(?:\/([^/]+))?(\/log)?$/.exec(url.pathname) ??
      /^\/api\/v1\/namespaces\/([^/]+)\/(secrets)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!route) return status(res, 404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    const [, namespace, kind, name, log] = route as unknown as [string, string, Kind, string | undefined, string | undefined];
    if (log) return this.serveLog(res, namespace, name!, query);
    if (!name && req.method === 'GET' && query.watch === 'true') return this.watch(res, kind, namespace, query);
    if (!name && req.method === 'GET') return this.list(res, kind, namespace, query);
    if (!name && req.method === 'POST' && kind === 'jobs') return this.createJob(res, namespace, body as KubeObject);
    if (!name && req.method === 'POST' && kind === 'secrets') return this.createSecret(res, namespace, body as KubeObject);
    const object = name ? this.objects[kind].get(`${namespace}/${name}`) : undefined;
    if (!object) return status(res, 404, 'NotFound', `${kind} "${name}" not found`);
    if (req.method === 'GET') return json(res, 200, object);
    if (req.method === 'DELETE') {
      if (kind === 'jobs') this.removeJob(object, (query.propagationPolicy ?? (body as any)?.propagationPolicy) !== 'Orphan');
      else this.remove(kind, object);
      return json(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success', details: { name, kind } });
    }
    return status(res, 405, 'MethodNotAllowed', `${req.method} is not supported here`);
  }

  private createJob(res: ServerResponse, namespace: string, job: KubeObject): void {
    const name = job?.metadata?.name;
    if (!name || job.kind !== 'Job') return status(res, 422, 'Invalid', 'Job.metadata.name: Required value');
    if (this.objects.jobs.has(`${namespace}/${name}`)) return status(res, 409, 'AlreadyExists', `jobs.batch "${name}" already exists`);
    const uid = randomUUID();
    const created: KubeObject = {
      ...job,
      metadata: { ...job.metadata, namespace, uid, creationTimestamp: new Date().toISOString() },
      status: { active: 1, startTime: new Date().toISOString() },
    };
    this.add('jobs', created);
    const template = job.spec.template;
    this.add('pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${name}-${randomBytes(3).toString('hex').slice(0, 5)}`,
        namespace,
        uid: randomUUID(),
        creationTimestamp: new Date().toISOString(),
        labels: { ...template.metadata.labels, 'batch.kubernetes.io/job-name': name, 'job-name': name, 'controller-uid': uid },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid, controller: true }],
      },
      spec: template.spec,
      status: { phase: 'Pending' },
    });
    json(res, 201, created);
  }

  private createSecret(res: ServerResponse, namespace: string, secret: KubeObject): void {
    const name = secret?.metadata?.name;
    if (!name || secret.kind !== 'Secret') return status(res, 422, 'Invalid', 'Secret.metadata.name: Required value');
    if (this.objects.secrets.has(`${namespace}/${name}`)) return status(res, 409, 'AlreadyExists', `secrets "${name}" already exists`);
    const created: KubeObject = { ...secret, metadata: { ...secret.metadata, namespace, uid: randomUUID(), creationTimestamp: new Date().toISOString() } };
    this.add('secrets', created);
    json(res, 201, created);
  }

  /** A Job and, unless orphaned, its pods and what it owns (the garbage collector, at once). */
  private removeJob(job: KubeObject, cascade: boolean): void {
    this.remove('jobs', job);
    if (!cascade) return;
    for (const pod of this.podsOfJob(job.metadata.name)) this.remove('pods', pod);
    for (const secret of [...this.objects.secrets.values()]) {
      if ((secret.metadata.ownerReferences ?? []).some((o: any) => o.kind === 'Job' && o.uid === job.metadata.uid)) this.remove('secrets', secret);
    }
  }

  private list(res: ServerResponse, kind: Kind, namespace: string, query: Record<string, string>): void {
    const selector = parseSelector(query.labelSelector);
    const items = [...this.objects[kind].values()].filter((o) => o.metadata.namespace === namespace && matches(o, selector));
    json(res, 200, {
      apiVersion: kind === 'jobs' ? 'batch/v1' : 'v1',
      kind: kind === 'jobs' ? 'JobList' : 'PodList',
      metadata: { resourceVersion: String(this.rv) },
      items,
    });
  }

  private watch(res: ServerResponse, kind: Kind, namespace: string, query: Record<string, string>): void {
    const selector = parseSelector(query.labelSelector);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const from = Number(query.resourceVersion || this.rv);
    if (from < this.oldestRv) {
      const gone = { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message: `too old resource version: ${from} (${this.oldestRv})` } };
      res.end(`${JSON.stringify(gone)}\n`);
      return;
    }
    for (const event of this.history) {
      if (event.kind === kind && event.namespace === namespace && event.rv > from && matches(event.object, selector)) {
        res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
      }
    }
    const watcher = { kind, namespace, selector, res };
    this.watchers.add(watcher);
    res.on('close', () => this.watchers.delete(watcher));
  }

  private serveLog(res: ServerResponse, namespace: string, podName: string, query: Record<string, string>): void {
    const pod = this.objects.pods.get(`${namespace}/${podName}`);
    if (!pod) return status(res, 404, 'NotFound', `pods "${podName}" not found`);
    const container = query.container;
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    const started = statuses.some((c: any) => c.name === container && (c.state?.running || c.state?.terminated));
    if (!started) return status(res, 400, 'BadRequest', `container "${container}" in pod "${podName}" is waiting to start: PodInitializing`);
    const log = this.logOf(podName, container);
    res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
    res.write(log.text);
    // As the kubelet: the log of a container that has ended is whole, a follow ends with it.
    const ended = statuses.some((c: any) => c.name === container && c.state?.terminated);
    if (query.follow !== 'true' || log.closed || ended) return void res.end();
    log.followers.add(res);
    res.on('close', () => log.followers.delete(res));
  }

  private logOf(podName: string, container: string) {
    const key = `${podName}/${container}`;
    let log = this.logs.get(key);
    if (!log) this.logs.set(key, (log = { text: '', closed: false, followers: new Set() }));
    return log;
  }

  private podsOfJob(jobName: string): KubeObject[] {
    return [...this.objects.pods.values()].filter((p) => p.metadata.labels?.['job-name'] === jobName);
  }

  private find(kind: Kind, name: string): KubeObject {
    const found = [...this.objects[kind].values()].find((o) => o.metadata.name === name);
    if (!found) throw new Error(`fake kube: no ${kind} named ${name}`);
    return found;
  }

  private add(kind: Kind, object: KubeObject): void {
    this.objects[kind].set(`${object.metadata.namespace}/${object.metadata.name}`, object);
    this.emit(kind, 'ADDED', object);
  }

  private modified(kind: Kind, object: KubeObject): void {
    this.emit(kind, 'MODIFIED', object);
  }

  private remove(kind: Kind, object: KubeObject): void {
    if (!this.objects[kind].delete(`${object.metadata.namespace}/${object.metadata.name}`)) return;
    this.emit(kind, 'DELETED', object);
  }

  private emit(kind: Kind, type: WatchEvent['type'], object: KubeObject): void {
    object.metadata.resourceVersion = String(++this.rv);
    const snapshot = JSON.parse(JSON.stringify(object)) as KubeObject;
    const event: WatchEvent = { kind, namespace: object.metadata.namespace, rv: this.rv, type, object: snapshot };
    this.history.push(event);
    for (const w of this.watchers) {
      if (w.kind === kind && w.namespace === event.namespace && matches(snapshot, w.selector)) w.res.write(`${JSON.stringify({ type, object: snapshot })}\n`);
    }
  }
}

function parseSelector(text: string | undefined): Record<string, string> {
  const selector: Record<string, string> = {};
  for (const term of (text ?? '').split(',').filter(Boolean)) {
    const [key, value] = term.split('=');
    selector[key] = value;
  }
  return selector;
}

function matches(object: KubeObject, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => object.metadata.labels?.[key] === value);
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  json(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}
