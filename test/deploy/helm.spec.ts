import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { compactVerify } from 'jose';
import { Client } from 'pg';
import { parse } from 'yaml';
import { ensureRegistrySigningKey, ensureTokenSigningKey, libtrustKeyId, signRegistryToken } from '@infrabox/auth';
import { authOf, InstallConfig, loadInstallConfig, registryCertificateFile, registryOf, registryTokenAuthOf, renderRegistryConfig } from '@infrabox/config';
import {
  APPS,
  byKind,
  CHART,
  ConfigMap,
  Deployment,
  deployments,
  dockerRegistryDeployment,
  ensureHelm,
  helmRun,
  K8sObject,
  MASTER_VALUES,
  mountVolumes,
  podEnv,
  renderChart as render,
  scratchFolder,
  WORKER_VALUES,
} from '../support/helm';
import { Database } from '@infrabox/database';
import { freePort } from '../../bench/free-port';
import { openDatabase } from '../support/database';

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
    const mounted = mountVolumes(objects, deployment, folder).get('/etc/infrabox')!;
    return loadInstallConfig({ file: path.join(mounted, 'config.yaml'), env, cwd: folder });
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

/** The Secret the chart makes for the apps' credentials (not the registry's signing key). */
function appSecret(objects: K8sObject[]): K8sObject | undefined {
  return byKind(objects, 'Secret').find((secret) => secret.metadata.name === 'ib-infrabox-secrets');
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
      const configMap = byKind<ConfigMap>(objects, 'ConfigMap').find((c) => c.metadata.name === 'ib-infrabox-config')!;
      for (const [app, deployment] of apps) {
        const pod = deployment.spec.template.spec;
        expect(pod.containers).toHaveLength(1);
        const [container] = pod.containers;
        expect(container.image).toBe('infrabox:0.1.0');
        expect(container.args).toEqual([app, '--config', '/etc/infrabox/config.yaml', '--port', '8080']);
        expect(container.ports).toEqual([expect.objectContaining({ name: 'http', containerPort: 8080 })]);
        expect(container.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
        expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
        expect(container.volumeMounts[0]).toEqual(expect.objectContaining({ name: 'config', mountPath: '/etc/infrabox' }));
        expect(pod.volumes[0]).toEqual({ name: 'config', configMap: { name: configMap.metadata.name } });
        // Besides its config, every app mounts the token signing key, and the api the registry token signing key.
        expect(container.volumeMounts.map((m) => m.name)).toEqual(app === 'api' ? ['config', 'token-key', 'registry-key'] : ['config', 'token-key']);
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
      const secret = appSecret(objects) as K8sObject & { data: Record<string, string> };
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
      const services = byKind<K8sObject & { spec: { selector: Record<string, string>; ports: Array<{ targetPort: string }> } }>(objects, 'Service')
        .filter((service) => service.metadata.labels!['app.kubernetes.io/component'] === 'api');
      expect(services).toHaveLength(1);
      expect(services[0].spec.selector).toEqual(deployments(objects).get('api')!.spec.selector.matchLabels);
      expect(services[0].spec.ports).toEqual([expect.objectContaining({ targetPort: 'http' })]);
      expect(byKind(objects, 'Ingress')).toEqual([]);

      const withIngress = await render('-f', MASTER_VALUES, '--set', 'ingress.enabled=true,ingress.tlsSecretName=master-tls');
      const [ingress] = byKind<K8sObject & { spec: Record<string, any> }>(withIngress, 'Ingress');
      expect(ingress.spec.rules).toEqual([
        {
          host: 'master.aws.my-domain.com',
          http: {
            paths: [
              { path: '/v2', pathType: 'Prefix', backend: { service: { name: 'ib-infrabox-docker-registry', port: { name: 'http' } } } },
              { path: '/', pathType: 'Prefix', backend: { service: { name: services[0].metadata.name, port: { name: 'http' } } } },
            ],
          },
        },
      ]);
      expect(ingress.spec.tls).toEqual([{ hosts: ['master.aws.my-domain.com'], secretName: 'master-tls' }]);
    });

    it('gives each app its own ServiceAccount; only the scheduler mounts its token, and only it gets the Role for batch/v1 Jobs, Pods and job Secrets', () => {
      const accounts = byKind<K8sObject & { automountServiceAccountToken?: boolean }>(objects, 'ServiceAccount');
      expect(accounts.map((a) => a.metadata.name).sort()).toEqual(APPS.map((app) => `ib-infrabox-${app}`).sort());
      for (const account of accounts) expect(account.automountServiceAccountToken).toBe(false);
      for (const [app, deployment] of deployments(objects)) {
        expect([app, deployment.spec.template.spec.serviceAccountName, deployment.spec.template.spec.automountServiceAccountToken]).toEqual([
          app,
          `ib-infrabox-${app}`,
          app === 'scheduler',
        ]);
      }
      const account = accounts.find((a) => a.metadata.name === 'ib-infrabox-scheduler')!;
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
      const secret = appSecret(objects)!;
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
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'ib-infrabox-scheduler', namespace: 'ci' }]);
  });

  it('can keep the process executor, without the Role for Kubernetes Jobs, and then no app mounts a ServiceAccount token', async () => {
    const objects = await render('-f', WORKER_VALUES, '--set', 'scheduler.executor=process');
    expect(loadRenderedConfig(objects, {}).scheduler).toEqual({ executor: 'process' });
    expect(byKind(objects, 'Role')).toEqual([]);
    expect(byKind(objects, 'RoleBinding')).toEqual([]);
    for (const [app, deployment] of deployments(objects)) expect([app, deployment.spec.template.spec.automountServiceAccountToken]).toEqual([app, false]);
  });

  it("uses an existing Secret instead of values, and renders no secret of the apps' then", async () => {
    const objects = await render(
      '-f', MASTER_VALUES,
      '--set', 'secrets.existingSecret=infrabox-credentials,database.postgres.password=,storage.s3.access_key_id=,storage.s3.secret_access_key=',
    );
    expect(appSecret(objects)).toBeUndefined();
    for (const deployment of deployments(objects).values()) {
      expect(deployment.spec.template.spec.containers[0].env).toEqual([
        { name: 'INFRABOX_DATABASE_PASSWORD', valueFrom: { secretKeyRef: { name: 'infrabox-credentials', key: 'database-password' } } },
        { name: 'INFRABOX_STORAGE_S3_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'infrabox-credentials', key: 's3-access-key-id', optional: true } } },
        { name: 'INFRABOX_STORAGE_S3_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'infrabox-credentials', key: 's3-secret-access-key', optional: true } } },
      ]);
    }
    // Secret values left in the values file are ignored, never rendered.
    const withValues = await render('-f', MASTER_VALUES, '--set', 'secrets.existingSecret=infrabox-credentials');
    expect(appSecret(withValues)).toBeUndefined();
    expectNoSecretOutsideSecrets(withValues, MASTER_SECRETS);
  });

  describe("this cluster's image registry (docker-registry)", () => {
    const CERTIFICATE_PATH = '/etc/docker/registry-auth/signing-key.crt';

    /** The registry's config.yml as rendered into its ConfigMap. */
    function registryConfigOf(objects: K8sObject[]): Record<string, any> {
      const registry = dockerRegistryDeployment(objects);
      const volume = registry.spec.template.spec.volumes.find((v) => v.name === 'config')!;
      const configMap = byKind<ConfigMap>(objects, 'ConfigMap').find((c) => c.metadata.name === volume.configMap!.name)!;
      return parse(configMap.data['config.yml']) as Record<string, any>;
    }

    /** What renderRegistryConfig (the local registry's rules) makes of the install config the apps load from the same render, in the pod's paths. */
    function localRulesFor(objects: K8sObject[]): Record<string, any> {
      const config = loadRenderedConfig(objects, {});
      const auth = { ...registryTokenAuthOf(config), rootCertBundle: CERTIFICATE_PATH };
      return { ...(parse(renderRegistryConfig(config, '', auth)) as Record<string, any>), http: { addr: ':5000' } };
    }

    const secretRefs = (deployment: Deployment) => JSON.stringify(deployment.spec.template.spec.volumes.filter((v) => v.secret));

    it('runs one registry:2 Deployment and Service per installation, beside the four apps, without the apps\' credentials or a service account token', async () => {
      for (const values of [MASTER_VALUES, WORKER_VALUES]) {
        const objects = await render('-f', values);
        const registry = dockerRegistryDeployment(objects);
        expect(deployments(objects).size).toBe(4);
        const pod = registry.spec.template.spec;
        expect(pod.containers).toHaveLength(1);
        expect(pod.containers[0]).toMatchObject({ name: 'docker-registry', image: 'registry:2', ports: [{ name: 'http', containerPort: 5000, protocol: 'TCP' }] });
        expect(pod.containers[0].readinessProbe.httpGet).toEqual({ path: '/', port: 'http' });
        expect(pod.automountServiceAccountToken).toBe(false);
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
        expect(JSON.stringify(pod.containers[0].env)).not.toMatch(/INFRABOX_|database-password/);
        const [service] = byKind<K8sObject & { spec: { selector: Record<string, string>; ports: unknown[] } }>(objects, 'Service').filter(
          (s) => s.metadata.labels!['app.kubernetes.io/component'] === 'docker-registry',
        );
        expect(service.metadata.name).toBe('ib-infrabox-docker-registry');
        expect(service.spec.selector).toEqual(registry.spec.selector.matchLabels);
        expect(service.spec.ports).toEqual([{ name: 'http', port: 5000, targetPort: 'http', protocol: 'TCP' }]);
      }
    });

    it('stores in S3 (bucket, region, endpoint as regionendpoint, under /registry), by the local registry\'s rules, with the S3 keys from the apps\' Secret', async () => {
      const objects = await render('-f', MASTER_VALUES);
      expect(registryConfigOf(objects)).toEqual(localRulesFor(objects));
      expect(registryConfigOf(objects).storage).toEqual({ s3: { bucket: 'infrabox', region: 'us-east-1', rootdirectory: '/registry' }, delete: { enabled: true } });
      const registry = dockerRegistryDeployment(objects);
      expect(registry.spec.template.spec.containers[0].env).toEqual([
        { name: 'REGISTRY_STORAGE_S3_ACCESSKEY', valueFrom: { secretKeyRef: { name: 'ib-infrabox-secrets', key: 's3-access-key-id' } } },
        { name: 'REGISTRY_STORAGE_S3_SECRETKEY', valueFrom: { secretKeyRef: { name: 'ib-infrabox-secrets', key: 's3-secret-access-key' } } },
        { name: 'REGISTRY_HTTP_SECRET', valueFrom: { secretKeyRef: { name: 'ib-infrabox-registry-key', key: 'http-secret', optional: true } } },
      ]);
      expect(podEnv(objects, registry)).toMatchObject({ REGISTRY_STORAGE_S3_ACCESSKEY: 'myaccesskeyid', REGISTRY_STORAGE_S3_SECRETKEY: 'mysecretsaccesskey' });

      const minio = await render('-f', MASTER_VALUES, '--set', 'storage.s3.endpoint=http://minio.storage:9000,storage.s3.region=eu-west-1');
      expect(registryConfigOf(minio)).toEqual(localRulesFor(minio));
      expect(registryConfigOf(minio).storage.s3).toEqual({ bucket: 'infrabox', region: 'eu-west-1', regionendpoint: 'http://minio.storage:9000', rootdirectory: '/registry' });
    });

    it('stores in GCS (bucket, under /registry), its key file the service account of the apps\' Secret, decoded from base64 at start', async () => {
      const keyJson = JSON.stringify({ type: 'service_account', project_id: 'p', client_email: 'registry@p.iam.gserviceaccount.com' });
      const objects = await render('-f', WORKER_VALUES, '--set', `storage.gcs.service_account=${Buffer.from(keyJson).toString('base64')}`);
      expect(registryConfigOf(objects)).toEqual(localRulesFor(objects));
      expect(registryConfigOf(objects).storage).toEqual({ gcs: { bucket: 'mybucket', rootdirectory: '/registry' }, delete: { enabled: true } });
      const registry = dockerRegistryDeployment(objects);
      const pod = registry.spec.template.spec;
      expect(pod.volumes).toContainEqual({
        name: 'gcs-service-account',
        secret: { secretName: 'ib-infrabox-secrets', items: [{ key: 'gcs-service-account', path: 'service-account' }], optional: true },
      });
      expect(pod.volumes).toContainEqual({ name: 'gcs-keyfile', emptyDir: { medium: 'Memory' } });

      // The container's start script, run by sh with the volumes in folders and a `registry` that shows what it was given.
      const folder = scratchFolder('infrabox-helm-gcs-');
      try {
        const mounts = mountVolumes(objects, registry, folder);
        const [container] = pod.containers;
        expect(container.command).toEqual(['/bin/sh', '-c']);
        let script = container.args[0];
        for (const [mountPath, hostFolder] of [...mounts].sort(([a], [b]) => b.length - a.length)) script = script.split(mountPath).join(hostFolder);
        fs.mkdirSync(path.join(folder, 'bin'));
        fs.writeFileSync(path.join(folder, 'bin', 'registry'), '#!/bin/sh\necho "args: $*"\necho "keyfile: $REGISTRY_STORAGE_GCS_KEYFILE"\ncat "$REGISTRY_STORAGE_GCS_KEYFILE"\n', { mode: 0o755 });
        const { stdout } = await promisify(execFile)('/bin/sh', ['-c', script], { env: { PATH: `${path.join(folder, 'bin')}:/usr/bin:/bin` } });
        const keyfile = path.join(mounts.get('/var/run/infrabox-gcs')!, 'keyfile.json');
        expect(stdout).toBe(`args: serve ${mounts.get('/etc/docker/registry')}/config.yml\nkeyfile: ${keyfile}\n${keyJson}`);
      } finally {
        fs.rmSync(folder, { recursive: true, force: true });
      }
    });

    it('stores in a folder with dockerRegistry.storage filesystem: an emptyDir, or a claim with persistence, one replica', async () => {
      const objects = await render('-f', WORKER_VALUES, '--set', 'dockerRegistry.storage=filesystem');
      expect(registryConfigOf(objects).storage).toEqual({ filesystem: { rootdirectory: '/var/lib/registry' }, delete: { enabled: true } });
      const registry = dockerRegistryDeployment(objects);
      expect(registry.spec.template.spec.containers[0].volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/registry' });
      expect(registry.spec.template.spec.volumes).toContainEqual({ name: 'data', emptyDir: {} });
      expect(registry.spec.strategy).toEqual({ type: 'Recreate' });
      expect(registry.spec.template.spec.containers[0].env).toEqual([expect.objectContaining({ name: 'REGISTRY_HTTP_SECRET' })]);
      expect(byKind(objects, 'PersistentVolumeClaim')).toEqual([]);

      const persistent = await render('-f', WORKER_VALUES, '--set', 'dockerRegistry.storage=filesystem,dockerRegistry.persistence.enabled=true,dockerRegistry.persistence.size=200Gi');
      const [claim] = byKind<K8sObject & { spec: Record<string, any> }>(persistent, 'PersistentVolumeClaim');
      expect(claim.spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '200Gi' } } });
      expect(dockerRegistryDeployment(persistent).spec.template.spec.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: claim.metadata.name } });

      const existing = await render('-f', WORKER_VALUES, '--set', 'dockerRegistry.storage=filesystem,dockerRegistry.persistence.enabled=true,dockerRegistry.persistence.existingClaim=images');
      expect(byKind(existing, 'PersistentVolumeClaim')).toEqual([]);
      expect(dockerRegistryDeployment(existing).spec.template.spec.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'images' } });
    });

    it("trusts this cluster's api as token service: realm its token route at host, service and issuer the cluster's name; the images are named after host", async () => {
      const master = await render('-f', MASTER_VALUES, '--set', 'ingress.enabled=true');
      expect(registryConfigOf(master).auth).toEqual({
        token: { realm: 'https://master.aws.my-domain.com/api/v1/registry/token', service: 'master', issuer: 'master', rootcertbundle: CERTIFICATE_PATH },
      });
      const config = loadRenderedConfig(master, {});
      expect(registryTokenAuthOf(config)).toMatchObject({ realm: registryConfigOf(master).auth.token.realm, service: 'master', issuer: 'master' });
      // The realm's route reaches the api: the Ingress sends host's / to the api Service, /v2 to the registry's.
      const [ingress] = byKind<K8sObject & { spec: Record<string, any> }>(master, 'Ingress');
      const backend = (prefix: string) => ingress.spec.rules[0].http.paths.find((p: { path: string }) => p.path === prefix).backend.service.name;
      expect([backend('/'), backend('/v2')]).toEqual(['ib-infrabox-api', 'ib-infrabox-docker-registry']);
      expect(registryOf(config).url).toBe('https://master.aws.my-domain.com');

      const worker = await render('-f', WORKER_VALUES, '--set', 'dockerRegistry.url=https://images.gcp.my-domain.com,ingress.enabled=true');
      expect(registryConfigOf(worker).auth.token).toMatchObject({ realm: 'https://worker.gcp.my-domain.com/api/v1/registry/token', service: 'worker', issuer: 'worker' });
      expect(registryOf(loadRenderedConfig(worker, {})).url).toBe('https://images.gcp.my-domain.com');
      const [workerIngress] = byKind<K8sObject & { spec: Record<string, any> }>(worker, 'Ingress');
      expect(workerIngress.spec.rules[0].http.paths.map((p: { path: string }) => p.path)).toEqual(['/']);
    });

    it('mounts the private key into the api only, the certificate only into the registry; the api reads the mounted key as it is and signs tokens the certificate verifies', async () => {
      const objects = await render('-f', MASTER_VALUES);
      const [keySecret] = byKind<K8sObject & { data: Record<string, string> }>(objects, 'Secret').filter((s) => s.metadata.name === 'ib-infrabox-registry-key');
      expect(Object.keys(keySecret.data).sort()).toEqual(['http-secret', 'signing-key.crt', 'signing-key.pem']);
      for (const [app, deployment] of deployments(objects)) {
        expect([app, secretRefs(deployment).includes('ib-infrabox-registry-key')]).toEqual([app, app === 'api']);
      }
      const api = deployments(objects).get('api')!;
      expect(api.spec.template.spec.volumes).toContainEqual({
        name: 'registry-key',
        secret: { secretName: 'ib-infrabox-registry-key', items: [{ key: 'signing-key.pem', path: 'signing-key.pem' }, { key: 'signing-key.crt', path: 'signing-key.crt' }] },
      });
      const registry = dockerRegistryDeployment(objects);
      expect(registry.spec.template.spec.volumes.filter((v) => v.secret?.secretName === 'ib-infrabox-registry-key')).toEqual([
        { name: 'token-certificate', secret: { secretName: 'ib-infrabox-registry-key', items: [{ key: 'signing-key.crt', path: 'signing-key.crt' }] } },
      ]);
      expect(registry.spec.template.spec.containers[0].volumeMounts).toContainEqual({ name: 'token-certificate', mountPath: '/etc/docker/registry-auth', readOnly: true });
      // The private key is nowhere but in that Secret (as the Secret holds it, nor decoded).
      const pem = Buffer.from(keySecret.data['signing-key.pem'], 'base64').toString('utf8');
      const keyBody = /-----BEGIN EC PRIVATE KEY-----\n([\s\S]+?)\n-----END EC PRIVATE KEY-----/.exec(pem)![1].replace(/\n/g, '');
      for (const object of objects.filter((o) => o.metadata.name !== 'ib-infrabox-registry-key')) {
        const text = JSON.stringify(object).replace(/\\n/g, '');
        expect([object.kind, object.metadata.name, text.includes(keySecret.data['signing-key.pem']) || text.includes(keyBody.slice(0, 40))]).toEqual([object.kind, object.metadata.name, false]);
      }

      const folder = scratchFolder('infrabox-helm-key-');
      try {
        // registry.signing_key of the api's config is the mounted file; the api reads it without writing next to it.
        const signingKey = registryOf(loadRenderedConfig(objects, {})).signingKey;
        expect(signingKey).toBe('/etc/infrabox-registry-key/signing-key.pem');
        const apiMounts = mountVolumes(objects, api, folder);
        const keyFolder = apiMounts.get(path.dirname(signingKey))!;
        const before = fs.readdirSync(keyFolder).sort();
        const keyFile = path.join(keyFolder, path.basename(signingKey));
        const key = await ensureRegistrySigningKey(keyFile, registryCertificateFile(keyFile), 'master');
        expect(fs.readdirSync(keyFolder).sort()).toEqual(before);

        // The registry's certificate verifies what the api signs, and names the key as distribution looks it up.
        const certificatePem = fs.readFileSync(path.join(mountVolumes(objects, registry, folder).get('/etc/docker/registry-auth')!, 'signing-key.crt'), 'utf8');
        const certificate = new X509Certificate(certificatePem);
        expect(key.keyId).toBe(libtrustKeyId(certificate.publicKey.export({ type: 'spki', format: 'der' })));
        const token = await signRegistryToken(key, { issuer: 'master', service: 'master', subject: 'job:x', access: [], ttlSeconds: 60 });
        const verified = await compactVerify(token, certificate.publicKey);
        expect(verified.protectedHeader).toMatchObject({ alg: 'ES256', kid: key.keyId });
        expect(certificate.subject).toBe('CN=infrabox registry token issuer master');
      } finally {
        fs.rmSync(folder, { recursive: true, force: true });
      }
    });

    it('uses an existing Secret for the signing key when named, and makes none', async () => {
      const objects = await render('-f', MASTER_VALUES, '--set', 'dockerRegistry.signingKey.existingSecret=infrabox-registry-key');
      expect(byKind(objects, 'Secret').map((s) => s.metadata.name).sort()).toEqual(['ib-infrabox-secrets', 'ib-infrabox-token-key']);
      expect(secretRefs(deployments(objects).get('api')!)).toContain('"secretName":"infrabox-registry-key"');
      expect(secretRefs(dockerRegistryDeployment(objects))).toContain('"secretName":"infrabox-registry-key"');
    });
  });

  describe("the cluster's token signing key", () => {
    it('is an Ed25519 key in a Secret of its own, kept, mounted read-only (mode 440) into every app; the apps read it as it is; it is nowhere else', async () => {
      const objects = await render('-f', MASTER_VALUES);
      const [secret] = byKind<K8sObject & { data: Record<string, string> }>(objects, 'Secret').filter((s) => s.metadata.name === 'ib-infrabox-token-key');
      expect(Object.keys(secret.data)).toEqual(['token-key.pem']);
      expect(secret.metadata.annotations).toMatchObject({ 'helm.sh/resource-policy': 'keep' });
      const pem = Buffer.from(secret.data['token-key.pem'], 'base64').toString('utf8');
      expect(createPrivateKey(pem).asymmetricKeyType).toBe('ed25519');
      for (const [app, deployment] of deployments(objects)) {
        const pod = deployment.spec.template.spec;
        expect([app, pod.volumes.find((v) => v.name === 'token-key')]).toEqual([
          app,
          { name: 'token-key', secret: { secretName: 'ib-infrabox-token-key', defaultMode: 0o440, items: [{ key: 'token-key.pem', path: 'token-key.pem' }] } },
        ]);
        expect([app, pod.containers[0].volumeMounts.find((m) => m.name === 'token-key')]).toEqual([app, { name: 'token-key', mountPath: '/etc/infrabox-token-key', readOnly: true }]);
      }
      for (const object of objects.filter((o) => o.metadata.name !== 'ib-infrabox-token-key')) {
        const text = JSON.stringify(object);
        expect([object.kind, object.metadata.name, text.includes(secret.data['token-key.pem']) || text.includes(pem.split('\n')[1])]).toEqual([object.kind, object.metadata.name, false]);
      }
      const config = loadRenderedConfig(objects, {});
      expect(authOf(config).signingKey).toBe('/etc/infrabox-token-key/token-key.pem');
      const folder = scratchFolder('infrabox-helm-token-key-');
      try {
        const keyFolder = mountVolumes(objects, deployments(objects).get('scheduler')!, folder).get('/etc/infrabox-token-key')!;
        const before = fs.readdirSync(keyFolder).sort();
        const key = await ensureTokenSigningKey(path.join(keyFolder, 'token-key.pem'));
        expect(fs.readdirSync(keyFolder).sort()).toEqual(before);
        expect(key.publicJwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: createPublicKey(pem).export({ format: 'jwk' }).x });
      } finally {
        fs.rmSync(folder, { recursive: true, force: true });
      }
    });

    it('logs users in through the OpenID provider of the values (the master): auth.oidc and admins in the config, the client secret mounted into the api only', async () => {
      const objects = await render(
        '-f', MASTER_VALUES,
        '--set', 'auth.oidc.issuer=https://dex.example.com,auth.oidc.clientId=infrabox,auth.oidc.clientSecret.existingSecret=infrabox-oidc',
        '--set', 'auth.admins={root@example.com}',
      );
      // The operator's Secret, as `kubectl create secret generic infrabox-oidc --from-literal=client-secret=…` makes it.
      const operatorSecret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'infrabox-oidc' }, data: { 'client-secret': Buffer.from('s3cret').toString('base64') } };
      const config = loadRenderedConfig([...objects, operatorSecret as unknown as K8sObject], {});
      expect(authOf(config)).toMatchObject({
        admins: ['root@example.com'],
        oidc: {
          issuer: 'https://dex.example.com',
          clientId: 'infrabox',
          clientSecretFile: '/etc/infrabox-oidc/client-secret',
          usernameClaim: 'email',
          scopes: ['openid', 'email', 'profile'],
          redirectUri: `${config.apiUrl}/api/v1/auth/callback`,
        },
      });
      for (const [app, deployment] of deployments(objects)) {
        const pod = deployment.spec.template.spec;
        const volume = pod.volumes.find((v) => v.name === 'oidc-client-secret');
        const mount = pod.containers[0].volumeMounts.find((m) => m.name === 'oidc-client-secret');
        if (app === 'api') {
          expect(volume).toEqual({ name: 'oidc-client-secret', secret: { secretName: 'infrabox-oidc', defaultMode: 0o440, items: [{ key: 'client-secret', path: 'client-secret' }] } });
          expect(mount).toEqual({ name: 'oidc-client-secret', mountPath: '/etc/infrabox-oidc', readOnly: true });
        } else {
          expect([app, volume, mount]).toEqual([app, undefined, undefined]);
        }
      }
      // Without a provider in the values: tokens only, no auth.oidc in the config.
      expect(authOf(loadRenderedConfig(await render('-f', MASTER_VALUES), {})).oidc).toBeUndefined();
    });

    it('uses an existing Secret when named (auth.signingKey.existingSecret), and makes none', async () => {
      const objects = await render('-f', MASTER_VALUES, '--set', 'auth.signingKey.existingSecret=infrabox-token-key');
      expect(byKind(objects, 'Secret').map((s) => s.metadata.name).sort()).toEqual(['ib-infrabox-registry-key', 'ib-infrabox-secrets']);
      for (const [app, deployment] of deployments(objects)) {
        expect([app, deployment.spec.template.spec.volumes.find((v) => v.name === 'token-key')?.secret?.secretName]).toEqual([app, 'infrabox-token-key']);
      }
    });
  });

  it.each([
    ['no host', ['--set', 'database.postgres.host=db'], 'host: required'],
    ['no database', ['-f', MASTER_VALUES, '--set', 'database.postgres.enabled=false'], 'database.postgres.enabled: must be true'],
    ['two storage backends', ['-f', MASTER_VALUES, '--set', 'storage.gcs.enabled=true,storage.gcs.bucket=b'], 'storage: exactly one of s3 and gcs must be enabled, found 2'],
    ['no storage backend', ['-f', MASTER_VALUES, '--set', 'storage.s3.enabled=false'], 'storage: exactly one of s3 and gcs must be enabled, found 0'],
    ['an unknown executor', ['-f', MASTER_VALUES, '--set', 'scheduler.executor=docker'], 'scheduler.executor: expected kubernetes or process, got "docker"'],
    ['a pod grace below the apps\' shutdown grace', ['-f', MASTER_VALUES, '--set', 'terminationGracePeriodSeconds=20'], 'terminationGracePeriodSeconds: must be above ha.shutdown_grace_seconds (30)'],
    ['an unknown app', ['-f', MASTER_VALUES, '--set', 'replicas.web=1'], 'replicas.web: unknown app'],
    ['an unknown registry storage', ['-f', MASTER_VALUES, '--set', 'dockerRegistry.storage=azure'], 'dockerRegistry.storage: expected "" (this cluster\'s storage) or filesystem, got "azure"'],
    ['a login on a worker', ['-f', WORKER_VALUES, '--set', 'auth.oidc.issuer=https://dex.example.com,auth.oidc.clientId=x'], "auth.oidc: users log in at the master only; leave it out of cluster 'worker'"],
    ['an OpenID provider without a client', ['-f', MASTER_VALUES, '--set', 'auth.oidc.issuer=https://dex.example.com'], 'auth.oidc.clientId: required with auth.oidc.issuer'],
    ['registry replicas on one folder', ['-f', MASTER_VALUES, '--set', 'dockerRegistry.storage=filesystem,dockerRegistry.replicas=2'], 'dockerRegistry.replicas: must be 1 with dockerRegistry.storage filesystem'],
  ])('refuses values the apps cannot run with: %s', async (_, args, message) => {
    const result = await helmRun(['template', 'ib', CHART, ...args]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });
});

describe("the cluster's PgBouncer (pgbouncer.enabled)", () => {
  const server = new URL(process.env.DATABASE_URL!);
  // A login of its own, with a password auth_file must escape.
  const login = { username: `ib_pgbouncer_${process.pid}`, password: 'pg "pass" word' };
  let db: Database;

  beforeAll(async () => {
    db = openDatabase(1);
    await db.query(`CREATE ROLE ${login.username} LOGIN PASSWORD 'pg "pass" word'`);
  });

  afterAll(async () => {
    await db.query(`DROP ROLE IF EXISTS ${login.username}`);
    await db.close();
  });

  /** The chart with its PgBouncer in front of the tests' server, logging in as `login`. */
  const renderWithPgBouncer = () =>
    render(
      '-f', WORKER_VALUES,
      '--set', 'pgbouncer.enabled=true',
      '--set', 'database.postgres.host=127.0.0.1',
      '--set', `database.postgres.port=${server.port}`,
      '--set', `database.postgres.db=${server.pathname.slice(1)}`,
      '--set', `database.postgres.username=${login.username}`,
      '--set-string', `database.postgres.password=${login.password}`,
    );

  it('is not there unless enabled: the apps connect directly', async () => {
    const objects = await render('-f', WORKER_VALUES);
    expect(objects.filter((o) => o.metadata.name.includes('pgbouncer'))).toEqual([]);
    expect(loadRenderedConfig(objects, { INFRABOX_DATABASE_PASSWORD: 'x' }).database).not.toHaveProperty('poolerUrl');
  });

  it("puts the apps' pools behind it: a Deployment and Service of the apps' image, their config's database.postgres.pooler, the password from the Secret only", async () => {
    const objects = await render('-f', WORKER_VALUES, '--set', 'pgbouncer.enabled=true');
    const bouncer = byKind<Deployment>(objects, 'Deployment').find((d) => d.metadata.name === 'ib-infrabox-pgbouncer')!;
    expect(bouncer.spec.template.spec.containers[0].image).toBe(deployments(objects).get('api')!.spec.template.spec.containers[0].image);
    expect(bouncer.spec.template.spec.containers[0].env).toContainEqual({
      name: 'PGBOUNCER_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'ib-infrabox-secrets', key: 'database-password' } },
    });
    const service = byKind(objects, 'Service').find((s) => s.metadata.name === 'ib-infrabox-pgbouncer') as K8sObject & { spec: { ports: Array<{ port: number }> } };
    expect(service.spec.ports.map((p) => p.port)).toEqual([6432]);
    expect(loadRenderedConfig(objects, { INFRABOX_DATABASE_PASSWORD: 'myuser' }).database).toEqual({
      kind: 'postgres',
      url: 'postgres://mypw:myuser@my-db-host.my-domain.com:5432/infrabox',
      poolerUrl: 'postgres://mypw:myuser@ib-infrabox-pgbouncer:6432/infrabox',
    });
    expectNoSecretOutsideSecrets(objects, WORKER_SECRETS);
  });

  it('runs a real PgBouncer in transaction mode from its start script: the login checked, the statement timeout set', async () => {
    const objects = await renderWithPgBouncer();
    const bouncer = byKind<Deployment>(objects, 'Deployment').find((d) => d.metadata.name === 'ib-infrabox-pgbouncer')!;
    const folder = scratchFolder('infrabox-helm-pgbouncer-');
    let child: ChildProcess | undefined;
    try {
      const mounts = mountVolumes(objects, bouncer, folder, { rewritePaths: true });
      const ini = path.join(mounts.get('/etc/pgbouncer')!, 'pgbouncer.ini');
      const port = await freePort();
      fs.writeFileSync(ini, fs.readFileSync(ini, 'utf8').replace('listen_port = 6432', `listen_port = ${port}`));
      const [container] = bouncer.spec.template.spec.containers;
      let script = container.args[0];
      for (const [mountPath, hostFolder] of [...mounts].sort(([a], [b]) => b.length - a.length)) script = script.split(mountPath).join(hostFolder);
      const secret = appSecret(objects)!.data as Record<string, string>;
      const env = { PATH: '/usr/sbin:/usr/bin:/bin', PGBOUNCER_USER: login.username, PGBOUNCER_PASSWORD: Buffer.from(secret['database-password'], 'base64').toString() };
      expect(env.PGBOUNCER_PASSWORD).toBe(login.password);
      // As in the pod, not as root (PgBouncer refuses root): the unprivileged user owns the folders.
      const asRoot = process.getuid?.() === 0;
      if (asRoot) {
        fs.chmodSync(folder, 0o755);
        for (const hostFolder of mounts.values()) execFileSync('chown', ['-R', 'postgres', hostFolder]);
      }
      child = spawn(asRoot ? 'runuser' : '/bin/sh', asRoot ? ['-u', 'postgres', '--', '/bin/sh', '-c', script] : ['-c', script], { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const url = (password: string) => `postgres://${encodeURIComponent(login.username)}:${encodeURIComponent(password)}@127.0.0.1:${port}${server.pathname}`;
      const connect = async (password: string) => {
        const client = new Client({ connectionString: url(password), connectionTimeoutMillis: 2_000, query_timeout: 5_000 });
        await client.connect();
        return client;
      };
      let client: Client | undefined;
      const deadline = Date.now() + 10_000;
      while (!client) {
        client = await connect(login.password).catch(async (error: Error) => {
          if (Date.now() > deadline || child!.exitCode !== null) throw new Error(`PgBouncer did not answer: ${error.message}\n${stderr}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
          return undefined;
        });
      }
      try {
        const timeout = await client.query('SHOW statement_timeout').catch((error: Error) => {
          throw new Error(`${error.message}; PgBouncer said: ${stderr}`);
        });
        expect(timeout.rows).toEqual([{ statement_timeout: '1min' }]);
        expect((await client.query('SELECT $1::int + 1 AS n', [41])).rows).toEqual([{ n: 42 }]);
      } finally {
        await client.end();
      }
      await expect(connect('wrong')).rejects.toThrow(/authentication failed/);
      expect(fs.readFileSync(ini, 'utf8')).toMatch(/^pool_mode = transaction$/m);
    } finally {
      // The whole group: runuser does not pass a signal on to PgBouncer.
      if (child?.pid !== undefined && child.exitCode === null) {
        const exited = new Promise((resolve) => child!.once('exit', resolve));
        process.kill(-child.pid, 'SIGINT');
        await exited;
      }
      fs.rmSync(folder, { recursive: true, force: true });
    }
  }, 60_000);
});
