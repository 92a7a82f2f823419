import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Storage } from '@google-cloud/storage';
import type { BuildDto } from '@infrabox/jobs';
import { liveRegistryOptions, uniqueClusterName } from '../support/clusters';
import { startGcsTestServer, GcsTestServer } from '../support/gcs-test-server';
import { apiAs, consoleOf as consoleOfJob, onlyTheseActive, RunningCluster, settledJobs, startCluster } from '../support/installation';
import { s3TestEndpoint } from '../support/storage';

/**
 * A master and two workers as separate processes (api, registry, scheduler, output-forwarder
 * each), on three different storage backends: local folder, S3 (fauxqs), GCS (the JSON-API
 * test server). A producer on one cluster writes files; a consumer on another reads them.
 */
describe('job outputs across clusters and storage backends', () => {
  const suffix = uniqueClusterName('');
  const names = { local: `master${suffix}`, gcs: `worker-gcp${suffix}`, s3: `worker-aws${suffix}` };
  const registry = liveRegistryOptions();
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
    await onlyTheseActive(master.apiUrl, Object.values(names));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clusters.map((c) => c.stop()));
    await gcs?.close();
  });

  const settled = (buildId: string, timeoutMs = 240_000) => settledJobs(master.apiUrl, buildId, timeoutMs);
  const consoleOf = (jobId: string) => consoleOfJob(master.apiUrl, jobId);


  const SUMS = 'cd "$DIR" && sha256sum big.bin nested/deeper/file.txt empty && find . | sort';

  it.each([
    ['GCP', 'AWS', 'gcs → s3'],
    ['AWS', 'LOCAL', 's3 → local'],
    ['LOCAL', 'GCP', 'local → gcs'],
  ])('a 200 MB file, a nested file and an empty one written on %s arrive byte-identical on %s (%s)', async (from, to) => {
    const build = await apiAs<BuildDto>(master.adminToken, master.apiUrl, 'POST', '/api/v1/projects/outputs/builds', {
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
