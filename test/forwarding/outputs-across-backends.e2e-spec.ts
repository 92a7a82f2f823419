import { randomInt } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Storage } from '@google-cloud/storage';
import type { BuildDto, JobDto } from '../../apps/api/src/builds/build.dto';
import { uniqueClusterName } from '../support/clusters';
import { eventually } from '../support/database';
import { startGcsTestServer, GcsTestServer } from '../support/gcs-test-server';
import { api, RunningCluster, startCluster } from '../support/installation';
import { s3TestEndpoint } from '../support/storage';

/**
 * A master and two workers as separate processes (api, registry, scheduler, output-forwarder
 * each), on three different storage backends: local folder, S3 (fauxqs), GCS (the JSON-API
 * test server). A producer on one cluster writes files; a consumer on another reads them.
 */
describe('job outputs across clusters and storage backends', () => {
  const suffix = uniqueClusterName('');
  const names = { local: `master${suffix}`, gcs: `worker-gcp${suffix}`, s3: `worker-aws${suffix}` };
  const registry = { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 3_000, sweepIntervalMs: 250, probeIntervalMs: 3_600_000, sweepLockKey: randomInt(1, 2 ** 47) };
  const bucket = `outputs-${suffix.slice(1)}`;
  let gcs: GcsTestServer;
  let clusters: RunningCluster[] = [];
  let master: RunningCluster;

  beforeAll(async () => {
    gcs = await startGcsTestServer();
    await new Storage({ apiEndpoint: gcs.url, projectId: 'test' }).createBucket(bucket);
    const s3 = new S3Client({ endpoint: s3TestEndpoint(), region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    s3.destroy();
    clusters = await Promise.all([
      startCluster({ name: names.local, labels: ['LOCAL'] }, { registry, forwarder: true }),
      startCluster(
        { name: names.gcs, labels: ['my-worker', 'GCP'], storage: () => `  gcs:\n    enabled: true\n    bucket: ${bucket}\n    project_id: test\n    api_endpoint: ${gcs.url}\n` },
        { registry, forwarder: true },
      ),
      startCluster(
        {
          name: names.s3,
          labels: ['AWS'],
          storage: () =>
            `  s3:\n    enabled: true\n    bucket: ${bucket}\n    endpoint: ${s3TestEndpoint()}\n    region: us-east-1\n    access_key_id: x\n    secret_access_key: y\n`,
        },
        { registry, forwarder: true },
      ),
    ]);
    master = clusters[0];
    await eventually(async () => {
      const all = (await api<Array<{ name: string; active: boolean }>>(master.apiUrl, 'GET', '/api/v1/clusters')).body;
      const active = all.filter((c) => c.active).map((c) => c.name).sort();
      return JSON.stringify(active) === JSON.stringify(Object.values(names).sort());
    }, 30_000, 'only this suite’s clusters active');
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clusters.map((c) => c.stop()));
    await gcs?.close();
  });

  async function settled(buildId: string, timeoutMs = 240_000): Promise<Map<string, JobDto>> {
    let jobs: JobDto[] = [];
    await eventually(async () => {
      jobs = (await api<BuildDto>(master.apiUrl, 'GET', `/api/v1/builds/${buildId}`)).body.jobs!;
      return jobs.every((j) => ['finished', 'failure', 'error', 'killed', 'skipped'].includes(j.state));
    }, timeoutMs, `build ${buildId} to end`);
    return new Map(jobs.map((j) => [j.name, j]));
  }

  async function consoleOf(jobId: string): Promise<string> {
    const chunks = (await api<Array<{ text: string }>>(master.apiUrl, 'GET', `/api/v1/jobs/${jobId}/console`)).body;
    return chunks.map((c) => c.text).join('');
  }

  const SUMS = 'cd "$DIR" && sha256sum big.bin nested/deeper/file.txt empty && find . | sort';

  it.each([
    ['GCP', 'AWS', 'gcs → s3'],
    ['AWS', 'LOCAL', 's3 → local'],
    ['LOCAL', 'GCP', 'local → gcs'],
  ])('a 200 MB file, a nested file and an empty one written on %s arrive byte-identical on %s (%s)', async (from, to) => {
    const build = await api<BuildDto>(master.apiUrl, 'POST', '/api/v1/projects/outputs/builds', {
      definition: {
        version: 1,
        jobs: [
          {
            name: 'producer',
            type: 'docker-image',
            image: 'none',
            cluster: { selector: [from] },
            command: ['sh', '-c', `set -e; O="$INFRABOX_OUTPUT"; mkdir -p "$O/nested/deeper"; head -c 209715200 /dev/urandom > "$O/big.bin"; echo "hello from $INFRABOX_CLUSTER_NAME" > "$O/nested/deeper/file.txt"; : > "$O/empty"; DIR="$O"; ${SUMS}`],
          },
          {
            name: 'consumer',
            type: 'docker-image',
            image: 'none',
            depends_on: ['producer'],
            cluster: { selector: [to] },
            command: ['sh', '-c', `set -e; DIR="$INFRABOX_INPUTS/producer"; ${SUMS}`],
          },
        ],
      },
    });
    expect(build.status).toBe(201);
    const jobs = await settled(build.body.id);
    const producer = jobs.get('producer')!;
    const consumer = jobs.get('consumer')!;
    expect(`${producer.state} ${consumer.state} ${consumer.message ?? ''}`.trim()).toBe('finished finished');
    expect(producer.cluster).not.toBe(consumer.cluster);
    const produced = await consoleOf(producer.id);
    const consumed = await consoleOf(consumer.id);
    expect(produced).toMatch(/^[0-9a-f]{64} {2}big\.bin$/m);
    expect(produced).toContain('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  empty');
    expect(consumed).toBe(produced);
  }, 300_000);
});
