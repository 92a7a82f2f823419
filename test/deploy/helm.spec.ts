import fs from 'node:fs';
import path from 'node:path';
import { InstallConfig, loadInstallConfig } from '@infrabox/config';
import {
  APPS,
  byKind,
  CHART,
  ConfigMap,
  deployments,
  ensureHelm,
  helmRun,
  K8sObject,
  MASTER_VALUES,
  mountConfigMaps,
  podEnv,
  renderChart as render,
  scratchFolder,
  WORKER_VALUES,
} from '../support/helm';

/*
 * deploy/helm/infrabox rendered by a real helm (downloaded once by scripts/ensure-helm.sh) with the
 * seed's master and worker values; the objects are read back and the ConfigMap goes through the
 * apps' own config loader with the env a pod would get from the Secret.
 */

// The seed's secrets as its examples write them.
const MASTER_SECRETS = ['myuser', 'myaccesskeyid', 'mysecretsaccesskey'];
const WORKER_SECRETS = ['myuser', '<base64 encoded service account .json>'];

/** Loads the ConfigMap's config.yaml the way an app does: from the mounted file, with the pod's env. */
function loadRenderedConfig(objects: K8sObject[], env: Record<string, string>): InstallConfig {
  const [deployment] = deployments(objects).values();
  const folder = scratchFolder('infrabox-helm-config-');
  try {
    const mounted = mountConfigMaps(objects, deployment, folder).get('/etc/infrabox')!;
    return loadInstallConfig({ file: path.join(mounted, 'config.yaml'), env, cwd: folder });
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

function expectNoSecretOutsideSecrets(objects: K8sObject[], secrets: string[]): void {
  const encodings = secrets.flatMap((s) => [s, Buffer.from(s).toString('base64')]);
  for (const object of objects.filter((o) => o.kind !== 'Secret')) {
    const text = JSON.stringify(object);
    for (const secret of encodings) {
      if (text.includes(secret)) throw new Error(`${object.kind} ${object.metadata.name} contains the secret value ${JSON.stringify(secret)}`);
    }
  }
}

beforeAll(async () => {
  await ensureHelm();
  const version = await helmRun(['version', '--short']);
  expect(version.stdout).toMatch(/^v3\./);
}, 300_000);

describe('deploy/helm/infrabox', () => {
  it.each([
    ['master', MASTER_VALUES],
    ['worker', WORKER_VALUES],
  ])('passes helm lint --strict with the %s values', async (_, values) => {
    const lint = await helmRun(['lint', '--strict', CHART, '-f', values]);
    expect(lint.stderr).toBe('');
    expect(lint.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(lint.code).toBe(0);
  });

  describe('with the master values', () => {
    let objects: K8sObject[];
    beforeAll(async () => {
      objects = await render('-f', MASTER_VALUES);
    });

    it('renders one Deployment per app running the image with --config and --port 8080', () => {
      const apps = deployments(objects);
      expect([...apps.keys()].sort()).toEqual([...APPS].sort());
      const [configMap] = byKind<ConfigMap>(objects, 'ConfigMap');
      for (const [app, deployment] of apps) {
        const pod = deployment.spec.template.spec;
        expect(pod.containers).toHaveLength(1);
        const [container] = pod.containers;
        expect(container.image).toBe('infrabox:0.1.0');
        expect(container.args).toEqual([app, '--config', '/etc/infrabox/config.yaml', '--port', '8080']);
        expect(container.ports).toEqual([expect.objectContaining({ name: 'http', containerPort: 8080 })]);
        expect(container.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
        expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
        expect(container.volumeMounts).toEqual([expect.objectContaining({ name: 'config', mountPath: '/etc/infrabox' })]);
        expect(pod.volumes).toEqual([{ name: 'config', configMap: { name: configMap.metadata.name } }]);
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
        expect(deployment.spec.replicas).toBe(1);
        expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
        expect(deployment.spec.selector.matchLabels).toEqual({
          'app.kubernetes.io/name': 'infrabox',
          'app.kubernetes.io/instance': 'ib',
          'app.kubernetes.io/component': app,
        });
      }
    });

    it('labels every object with app.kubernetes.io/*', () => {
      for (const object of objects) {
        expect(object.metadata.labels).toMatchObject({
          'app.kubernetes.io/name': 'infrabox',
          'app.kubernetes.io/instance': 'ib',
          'app.kubernetes.io/managed-by': 'Helm',
        });
      }
    });

    it('gives every secret to the apps through secretKeyRef, and no secret value outside the Secret', () => {
      const [secret] = byKind(objects, 'Secret') as Array<K8sObject & { data: Record<string, string> }>;
      expect(Object.keys(secret.data).sort()).toEqual(['database-password', 's3-access-key-id', 's3-secret-access-key']);
      for (const deployment of deployments(objects).values()) {
        expect(deployment.spec.template.spec.containers[0].env).toEqual([
          { name: 'INFRABOX_DATABASE_PASSWORD', valueFrom: { secretKeyRef: { name: secret.metadata.name, key: 'database-password' } } },
          { name: 'INFRABOX_STORAGE_S3_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: secret.metadata.name, key: 's3-access-key-id' } } },
          { name: 'INFRABOX_STORAGE_S3_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: secret.metadata.name, key: 's3-secret-access-key' } } },
        ]);
      }
      expectNoSecretOutsideSecrets(objects, MASTER_SECRETS);
    });

    it("holds the seed's master config in the ConfigMap, loaded by the apps' config loader", () => {
      const withoutSecrets = loadRenderedConfig(objects, {});
      expect(withoutSecrets).toMatchObject({
        apiUrl: 'https://master.aws.my-domain.com',
        cluster: { name: 'master', labels: [], isMaster: true },
        database: { kind: 'postgres', url: 'postgres://mypw@my-db-host.my-domain.com:5432/infrabox' },
      });
      expect(withoutSecrets.storage).toEqual({
        kind: 's3',
        bucket: 'infrabox',
        region: 'us-east-1',
        endpoint: undefined,
        forcePathStyle: false,
        accessKeyId: undefined,
        secretAccessKey: undefined,
      });

      // As a pod sees it: the ConfigMap plus the env from the Secret.
      const inPod = loadRenderedConfig(objects, podEnv(objects, deployments(objects).get('api')!));
      expect(inPod.database).toEqual({ kind: 'postgres', url: 'postgres://mypw:myuser@my-db-host.my-domain.com:5432/infrabox' });
      expect(inPod.storage).toMatchObject({ kind: 's3', bucket: 'infrabox', accessKeyId: 'myaccesskeyid', secretAccessKey: 'mysecretsaccesskey' });
    });

    it('makes the scheduler run jobs as Kubernetes Jobs in the release namespace, helped by the same image', () => {
      expect(loadRenderedConfig(objects, {}).scheduler).toEqual({
        executor: 'kubernetes',
        kubernetes: {
          namespace: 'ci',
          access: { kind: 'in-cluster' },
          helperImage: 'infrabox:0.1.0',
          apiUrl: 'https://master.aws.my-domain.com',
          ttlSecondsAfterFinished: 600,
        },
      });
    });

    it('exposes the api through a Service, and an Ingress for host when enabled', async () => {
      const services = byKind<K8sObject & { spec: { selector: Record<string, string>; ports: Array<{ targetPort: string }> } }>(objects, 'Service');
      expect(services).toHaveLength(1);
      expect(services[0].spec.selector).toEqual(deployments(objects).get('api')!.spec.selector.matchLabels);
      expect(services[0].spec.ports).toEqual([expect.objectContaining({ targetPort: 'http' })]);
      expect(byKind(objects, 'Ingress')).toEqual([]);

      const withIngress = await render('-f', MASTER_VALUES, '--set', 'ingress.enabled=true,ingress.tlsSecretName=master-tls');
      const [ingress] = byKind<K8sObject & { spec: Record<string, any> }>(withIngress, 'Ingress');
      expect(ingress.spec.rules).toEqual([
        {
          host: 'master.aws.my-domain.com',
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: services[0].metadata.name, port: { name: 'http' } } } }] },
        },
      ]);
      expect(ingress.spec.tls).toEqual([{ hosts: ['master.aws.my-domain.com'], secretName: 'master-tls' }]);
    });

    it('lets the scheduler run batch/v1 Jobs and watch Pods through the ServiceAccount every app uses', () => {
      const [account] = byKind(objects, 'ServiceAccount');
      for (const deployment of deployments(objects).values()) {
        expect(deployment.spec.template.spec.serviceAccountName).toBe(account.metadata.name);
      }
      const [role] = byKind<K8sObject & { rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> }>(objects, 'Role');
      const allows = (group: string, resource: string, verb: string) =>
        role.rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
      for (const verb of ['create', 'get', 'list', 'watch', 'delete']) expect(allows('batch', 'jobs', verb)).toBe(true);
      for (const verb of ['get', 'list', 'watch']) expect(allows('', 'pods', verb)).toBe(true);
      // A docker job's registry credentials: a Secret the executor creates, owned by the job's Job
      // (Kubernetes deletes it with the Job); reading the namespace's Secrets is not granted.
      expect(allows('', 'secrets', 'create')).toBe(true);
      for (const verb of ['get', 'list', 'watch']) expect(allows('', 'secrets', verb)).toBe(false);
      const [binding] = byKind<K8sObject & { roleRef: { name: string }; subjects: unknown[] }>(objects, 'RoleBinding');
      expect(binding.roleRef.name).toBe(role.metadata.name);
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: account.metadata.name, namespace: 'ci' }]);
    });
  });

  describe('with the worker values', () => {
    let objects: K8sObject[];
    beforeAll(async () => {
      objects = await render('-f', WORKER_VALUES);
    });

    it("holds the seed's worker config: cluster worker, labels my-worker,GCP, GCS storage", () => {
      const config = loadRenderedConfig(objects, podEnv(objects, deployments(objects).get('scheduler')!));
      expect(config).toMatchObject({
        apiUrl: 'https://worker.gcp.my-domain.com',
        cluster: { name: 'worker', labels: ['my-worker', 'GCP'], isMaster: false },
        database: { kind: 'postgres', url: 'postgres://mypw:myuser@my-db-host.my-domain.com:5432/infrabox' },
      });
      expect(config.storage).toEqual({
        kind: 'gcs',
        bucket: 'mybucket',
        serviceAccount: '<base64 encoded service account .json>',
        projectId: undefined,
        apiEndpoint: undefined,
      });
      expect(loadRenderedConfig(objects, {}).storage).toMatchObject({ kind: 'gcs', serviceAccount: undefined });
    });

    it('reads the database password and the GCS service account from the Secret only', () => {
      const [secret] = byKind(objects, 'Secret');
      for (const deployment of deployments(objects).values()) {
        expect(deployment.spec.template.spec.containers[0].env).toEqual([
          { name: 'INFRABOX_DATABASE_PASSWORD', valueFrom: { secretKeyRef: { name: secret.metadata.name, key: 'database-password' } } },
          { name: 'INFRABOX_STORAGE_GCS_SERVICE_ACCOUNT', valueFrom: { secretKeyRef: { name: secret.metadata.name, key: 'gcs-service-account' } } },
        ]);
      }
      expectNoSecretOutsideSecrets(objects, WORKER_SECRETS);
    });
  });

  it('takes replicas and resources per app', async () => {
    const objects = await render(
      '-f', WORKER_VALUES,
      '--set', 'replicas.api=3,replicas.output-forwarder=2,resources.scheduler.limits.cpu=2,image.repository=registry.example.com/infrabox,image.tag=1.2.3',
    );
    const apps = deployments(objects);
    expect(Object.fromEntries([...apps].map(([app, d]) => [app, d.spec.replicas]))).toEqual({
      api: 3,
      registry: 1,
      scheduler: 1,
      'output-forwarder': 2,
    });
    expect(apps.get('scheduler')!.spec.template.spec.containers[0].resources).toEqual({
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { cpu: 2, memory: '512Mi' },
    });
    for (const deployment of apps.values()) {
      expect(deployment.spec.template.spec.containers[0].image).toBe('registry.example.com/infrabox:1.2.3');
    }
    expect(loadRenderedConfig(objects, {}).scheduler).toMatchObject({ kubernetes: { helperImage: 'registry.example.com/infrabox:1.2.3' } });
  });

  it("passes the replicas' timings to the apps and gives pods longer than the apps' own shutdown grace", async () => {
    const defaults = await render('-f', MASTER_VALUES);
    for (const deployment of deployments(defaults).values()) expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBe(60);

    const objects = await render('-f', MASTER_VALUES, '--set-json', 'ha={"lease_seconds":5,"shutdown_grace_seconds":90.5}');
    expect(loadRenderedConfig(objects, {}).ha).toEqual({ leaseMs: 5_000, shutdownGraceMs: 90_500 });
    for (const deployment of deployments(objects).values()) expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBe(121);

    const chosen = await render('-f', MASTER_VALUES, '--set', 'terminationGracePeriodSeconds=300');
    for (const deployment of deployments(chosen).values()) expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBe(300);
  });

  it('grants the Job rights in the namespace the jobs run in', async () => {
    const objects = await render('-f', WORKER_VALUES, '--set', 'scheduler.kubernetes.namespace=ci-jobs');
    expect(loadRenderedConfig(objects, {}).scheduler).toMatchObject({ kubernetes: { namespace: 'ci-jobs' } });
    const [role] = byKind(objects, 'Role');
    const [binding] = byKind<K8sObject & { subjects: unknown[] }>(objects, 'RoleBinding');
    expect([role.metadata, binding.metadata]).toEqual([expect.objectContaining({ namespace: 'ci-jobs' }), expect.objectContaining({ namespace: 'ci-jobs' })]);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: byKind(objects, 'ServiceAccount')[0].metadata.name, namespace: 'ci' }]);
  });

  it('can keep the process executor, without the Role for Kubernetes Jobs', async () => {
    const objects = await render('-f', WORKER_VALUES, '--set', 'scheduler.executor=process');
    expect(loadRenderedConfig(objects, {}).scheduler).toEqual({ executor: 'process' });
    expect(byKind(objects, 'Role')).toEqual([]);
    expect(byKind(objects, 'RoleBinding')).toEqual([]);
  });

  it('uses an existing Secret instead of values, and renders no secret at all then', async () => {
    const objects = await render(
      '-f', MASTER_VALUES,
      '--set', 'secrets.existingSecret=infrabox-credentials,database.postgres.password=,storage.s3.access_key_id=,storage.s3.secret_access_key=',
    );
    expect(byKind(objects, 'Secret')).toEqual([]);
    for (const deployment of deployments(objects).values()) {
      expect(deployment.spec.template.spec.containers[0].env).toEqual([
        { name: 'INFRABOX_DATABASE_PASSWORD', valueFrom: { secretKeyRef: { name: 'infrabox-credentials', key: 'database-password' } } },
        { name: 'INFRABOX_STORAGE_S3_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'infrabox-credentials', key: 's3-access-key-id', optional: true } } },
        { name: 'INFRABOX_STORAGE_S3_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'infrabox-credentials', key: 's3-secret-access-key', optional: true } } },
      ]);
    }
    // Secret values left in the values file are ignored, never rendered.
    const withValues = await render('-f', MASTER_VALUES, '--set', 'secrets.existingSecret=infrabox-credentials');
    expect(byKind(withValues, 'Secret')).toEqual([]);
    expectNoSecretOutsideSecrets(withValues, MASTER_SECRETS);
  });

  it.each([
    ['no host', ['--set', 'database.postgres.host=db'], 'host: required'],
    ['no database', ['-f', MASTER_VALUES, '--set', 'database.postgres.enabled=false'], 'database.postgres.enabled: must be true'],
    ['two storage backends', ['-f', MASTER_VALUES, '--set', 'storage.gcs.enabled=true,storage.gcs.bucket=b'], 'storage: exactly one of s3 and gcs must be enabled, found 2'],
    ['no storage backend', ['-f', MASTER_VALUES, '--set', 'storage.s3.enabled=false'], 'storage: exactly one of s3 and gcs must be enabled, found 0'],
    ['an unknown executor', ['-f', MASTER_VALUES, '--set', 'scheduler.executor=docker'], 'scheduler.executor: expected kubernetes or process, got "docker"'],
    ['a pod grace below the apps\' shutdown grace', ['-f', MASTER_VALUES, '--set', 'terminationGracePeriodSeconds=20'], 'terminationGracePeriodSeconds: must be above ha.shutdown_grace_seconds (30)'],
    ['an unknown app', ['-f', MASTER_VALUES, '--set', 'replicas.web=1'], 'replicas.web: unknown app'],
  ])('refuses values the apps cannot run with: %s', async (_, args, message) => {
    const result = await helmRun(['template', 'ib', CHART, ...args]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });
});
