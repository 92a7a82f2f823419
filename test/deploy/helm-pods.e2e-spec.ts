import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { stringify } from 'yaml';
import { masterAdminToken } from '../support/auth';
import { createScratchDatabase, eventually, openDatabase } from '../support/database';
import { DOCKER_REGISTRY as DOCKER_REGISTRY_BINARY, skopeo, writeOciImage } from '../support/docker-registry';
import { APPS, Deployment, deployments, dockerRegistryDeployment, K8sObject, MASTER_VALUES, mountVolumes, podEnv, renderChart, ROOT, scratchFolder } from '../support/helm';
import { freePort } from '../support/installation';
import { s3TestEndpoint } from '../support/storage';

/*
 * The chart's pods as processes: each Deployment's container is started the way the kubelet would
 * start it from the image — the image's ENTRYPOINT script with the container's args, the ConfigMap
 * and Secret volumes mounted as folders, and only the env the pod spec gives (secrets read from the
 * rendered Secrets; nothing inherited from this test, DATABASE_URL included). Each must answer its
 * readiness and liveness probes, and stop on SIGTERM within the grace period. The docker-registry
 * pod runs Debian's build of the same registry (distribution 2.8) with its rendered config.yml, and
 * a real client pushes through it, its tokens from the api pod.
 */

const ENTRYPOINT = path.join(ROOT, 'deploy/docker-entrypoint.sh');
const DOCKER_REGISTRY_APP = 'docker-registry';

interface Pod {
  app: string;
  process: ChildProcess;
  port: number;
  output: string[];
  /** The exit code, or the signal that ended the process. */
  exited: Promise<number | NodeJS.Signals>;
  deployment: Deployment;
  /** Its volumes: mountPath → folder. */
  mounts: Map<string, string>;
}

function startPod(objects: K8sObject[], app: string, port: number, folder: string): Pod {
  const deployment = app === DOCKER_REGISTRY_APP ? dockerRegistryDeployment(objects) : deployments(objects).get(app)!;
  const [container] = deployment.spec.template.spec.containers;
  const mounts = mountVolumes(objects, deployment, folder, { rewritePaths: true });
  const args = container.args.map((arg, i) => {
    if (container.args[i - 1] === '--port') {
      expect(Number(arg)).toBe(container.ports[0].containerPort);
      return String(port); // the container port, mapped to a free one on this machine
    }
    for (const [mountPath, hostFolder] of mounts) if (arg.startsWith(`${mountPath}/`)) return hostFolder + arg.slice(mountPath.length);
    return arg;
  });
  const workdir = fs.mkdtempSync(path.join(folder, `${app}-`));
  // The registry image's entrypoint runs `registry ARGS…`; it listens on its container port, mapped here to a free one.
  const [command, commandArgs, portEnv] =
    app === DOCKER_REGISTRY_APP
      ? [DOCKER_REGISTRY_BINARY, args, { REGISTRY_HTTP_ADDR: `127.0.0.1:${port}` }]
      : [ENTRYPOINT, args, {}];
  const child = spawn(command, commandArgs, {
    cwd: workdir,
    env: { PATH: process.env.PATH, HOME: workdir, ...podEnv(objects, deployment), ...portEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal!)));
  return { app, process: child, port, output, exited, deployment, mounts };
}

async function probe(pod: Pod, which: 'readinessProbe' | 'livenessProbe'): Promise<number> {
  const { path: probePath, port } = pod.deployment.spec.template.spec.containers[0][which].httpGet;
  expect(port).toBe('http');
  try {
    const response = await fetch(`http://127.0.0.1:${pod.port}${probePath}`, { signal: AbortSignal.timeout(5_000) });
    return response.status;
  } catch {
    return 0;
  }
}

describe('the chart\'s pods, started from the rendered objects', () => {
  const folder = scratchFolder('infrabox-helm-pods-');
  const pods: Pod[] = [];

  afterAll(async () => {
    for (const pod of pods) if (pod.process.exitCode === null) pod.process.kill('SIGKILL');
    await Promise.all(pods.map((pod) => pod.exited));
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('answer their probes with the master values pointed at a real PostgreSQL and S3, push through the registry pod with tokens from the api pod, and stop on SIGTERM', async () => {
    const db = openDatabase(1);
    const databaseUrl = new URL(await createScratchDatabase(db));
    await db.close();
    const bucket = `helm-${Date.now()}`;
    const s3 = new S3Client({ endpoint: s3TestEndpoint(), region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    s3.destroy();

    const ports = new Map<string, number>();
    const podApps = [...APPS, DOCKER_REGISTRY_APP];
    for (const app of podApps) ports.set(app, await freePort());
    // The seed's master values, aimed at this machine's servers (the secrets still go through the Secret).
    const valuesFile = path.join(folder, 'values-here.yaml');
    fs.writeFileSync(
      valuesFile,
      stringify({
        host: `http://127.0.0.1:${ports.get('api')}`,
        database: {
          postgres: {
            host: databaseUrl.hostname,
            port: Number(databaseUrl.port || 5432),
            db: databaseUrl.pathname.slice(1),
            username: decodeURIComponent(databaseUrl.username),
            password: decodeURIComponent(databaseUrl.password),
          },
        },
        storage: { s3: { bucket, endpoint: s3TestEndpoint(), access_key_id: 'helm-test-key', secret_access_key: 'helm-test-secret' } },
        scheduler: { executor: 'process' }, // no Kubernetes API server here
        // fauxqs lacks ListMultipartUploads, which distribution's S3 driver needs to resume a chunked
        // upload: the registry stores in its folder here (its S3 config is checked in helm.spec.ts).
        dockerRegistry: { storage: 'filesystem' },
      }),
    );
    const objects = await renderChart('-f', MASTER_VALUES, '-f', valuesFile);

    for (const app of podApps) pods.push(startPod(objects, app, ports.get(app)!, folder));
    for (const pod of pods) {
      await eventually(
        async () => {
          if (pod.process.exitCode !== null) throw new Error(`${pod.app} exited (${pod.process.exitCode}):\n${pod.output.join('')}`);
          return (await probe(pod, 'readinessProbe')) === 200;
        },
        90_000,
        `${pod.app} ready`,
      );
      expect(await probe(pod, 'livenessProbe')).toBe(200);
    }

    // A real client pushes an image through the registry pod: 401 there, a token from the api pod
    // (signed with the key the chart made, checked by the registry against its certificate), the
    // layers into the registry's volume.
    const registryHost = `127.0.0.1:${ports.get(DOCKER_REGISTRY_APP)}`;
    const challenge = await fetch(`http://${registryHost}/v2/`);
    expect([challenge.status, challenge.headers.get('www-authenticate')]).toEqual([
      401,
      `Bearer realm="http://127.0.0.1:${ports.get('api')}/api/v1/registry/token",service="master"`,
    ]);
    const image = await writeOciImage(path.join(folder, 'image'));
    // Signed with the key the chart's Secret holds (mounted into the api pod), as the pods pinned it.
    const tokenKey = path.join(pods.find((p) => p.app === 'api')!.mounts.get('/etc/infrabox-token-key')!, 'token-key.pem');
    const token = await masterAdminToken(databaseUrl.toString(), 600, tokenKey);
    const push = (tag: string, creds: string[]) => skopeo(['copy', '--dest-tls-verify=false', ...creds, `oci:${image}:latest`, `docker://${registryHost}/demo/hello:${tag}`], folder);
    expect(await push('1', ['--dest-creds', `x:${token}`])).toEqual({ code: 0, stderr: '' });
    const registryPod = pods.find((p) => p.app === DOCKER_REGISTRY_APP)!;
    const data = registryPod.mounts.get('/var/lib/registry')!;
    expect(fs.readdirSync(path.join(data, 'docker/registry/v2/repositories/demo/hello/_manifests/tags'))).toEqual(['1']);
    expect(await push('2', ['--dest-no-creds'])).toMatchObject({ code: 1 });

    // Nest's shutdown hooks close the app, then re-raise the signal: a clean stop ends by SIGTERM
    // (or exit code 0), never by the SIGKILL a pod gets after its grace period.
    const grace = pods[0].deployment.spec.template.spec.terminationGracePeriodSeconds * 1000;
    for (const pod of pods) pod.process.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const ends = await Promise.race([
      Promise.all(pods.map((pod) => pod.exited)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('an app outlived its termination grace period')), grace);
      }),
    ]).finally(() => clearTimeout(timer));
    for (const [i, pod] of pods.entries()) expect([pod.app, [0, 'SIGTERM'].includes(ends[i])]).toEqual([pod.app, true]);
  }, 240_000);
});
