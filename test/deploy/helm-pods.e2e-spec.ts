import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { stringify } from 'yaml';
import { createScratchDatabase, eventually, openDatabase } from '../support/database';
import { APPS, Deployment, deployments, K8sObject, MASTER_VALUES, mountConfigMaps, podEnv, renderChart, ROOT, scratchFolder } from '../support/helm';
import { freePort } from '../support/installation';
import { s3TestEndpoint } from '../support/storage';

/*
 * The chart's pods as processes: each Deployment's container is started the way the kubelet would
 * start it from the image — the image's ENTRYPOINT script with the container's args, the ConfigMap
 * mounted as a folder, and only the env the pod spec gives (secrets read from the rendered Secret;
 * nothing inherited from this test, DATABASE_URL included). Each must answer its readiness and
 * liveness probes, and stop on SIGTERM within the grace period.
 */

const ENTRYPOINT = path.join(ROOT, 'deploy/docker-entrypoint.sh');

interface Pod {
  app: string;
  process: ChildProcess;
  port: number;
  output: string[];
  /** The exit code, or the signal that ended the process. */
  exited: Promise<number | NodeJS.Signals>;
  deployment: Deployment;
}

function startPod(objects: K8sObject[], app: string, port: number, folder: string): Pod {
  const deployment = deployments(objects).get(app)!;
  const [container] = deployment.spec.template.spec.containers;
  const mounts = mountConfigMaps(objects, deployment, folder);
  const args = container.args.map((arg, i) => {
    if (container.args[i - 1] === '--port') {
      expect(Number(arg)).toBe(container.ports[0].containerPort);
      return String(port); // the container port, mapped to a free one on this machine
    }
    for (const [mountPath, hostFolder] of mounts) if (arg.startsWith(`${mountPath}/`)) return hostFolder + arg.slice(mountPath.length);
    return arg;
  });
  const workdir = fs.mkdtempSync(path.join(folder, `${app}-`));
  const child = spawn(ENTRYPOINT, args, {
    cwd: workdir,
    env: { PATH: process.env.PATH, HOME: workdir, ...podEnv(objects, deployment) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal!)));
  return { app, process: child, port, output, exited, deployment };
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

  it('answer their probes with the master values pointed at a real PostgreSQL and S3, and stop on SIGTERM', async () => {
    const db = openDatabase(1);
    const databaseUrl = new URL(await createScratchDatabase(db));
    await db.close();
    const bucket = `helm-${Date.now()}`;
    const s3 = new S3Client({ endpoint: s3TestEndpoint(), region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    s3.destroy();

    const ports = new Map<string, number>();
    for (const app of APPS) ports.set(app, await freePort());
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
      }),
    );
    const objects = await renderChart('-f', MASTER_VALUES, '-f', valuesFile);

    for (const app of APPS) pods.push(startPod(objects, app, ports.get(app)!, folder));
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
