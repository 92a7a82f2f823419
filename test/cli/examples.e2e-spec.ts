import path from 'node:path';
import { loadInstallConfig } from '@infrabox/config';
import { planLocalRun } from '../../apps/cli/src/up/installation.plan';

const EXAMPLES = path.resolve(__dirname, '../../examples/local');
const ROOT = path.resolve(__dirname, '../..');

describe('examples/local (what `npm start` runs)', () => {
  const load = (name: string) => loadInstallConfig({ file: path.join(EXAMPLES, name), env: {}, cwd: ROOT });

  it('has a master and two workers in the seed shape, sharing the embedded PostgreSQL', () => {
    const configs = ['master.yaml', 'worker-gcp.yaml', 'worker-aws.yaml'].map(load);
    expect(configs.map((c) => [c.cluster.name, c.cluster.labels, c.cluster.isMaster, c.apiUrl, c.listenPort])).toEqual([
      ['master', [], true, 'http://127.0.0.1:8080', 8080],
      ['worker-gcp', ['my-worker', 'GCP'], false, 'http://127.0.0.1:8081', 8081],
      ['worker-aws', ['AWS'], false, 'http://127.0.0.1:8082', 8082],
    ]);
    expect(configs.map((c) => c.storage)).toEqual(
      ['master', 'worker-gcp', 'worker-aws'].map((name) => ({ kind: 'local', path: path.join(ROOT, '.infrabox/storage', name) })),
    );
    for (const config of configs) {
      expect(config.database).toEqual({ kind: 'embedded', dataDir: path.join(ROOT, '.infrabox/postgres'), port: 54329 });
    }
  });

  it('passes the checks of `infrabox up` together', () => {
    const plan = planLocalRun(['master.yaml', 'worker-aws.yaml', 'worker-gcp.yaml'].map((name) => path.join(EXAMPLES, name)), { env: {} });
    expect(plan.installations).toHaveLength(3);
    expect(plan.sharedPostgres?.port).toBe(54329);
  });
});
