import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CurrentCluster, currentClusterOf, InstallConfigModule, parseInstallConfig } from '.';

@Injectable()
class NeedsCluster {
  constructor(readonly cluster: CurrentCluster) {}
}

// A separate module proves the cluster is visible without importing InstallConfigModule (global).
@Module({ providers: [NeedsCluster] })
class FeatureModule {}

const WORKER_YAML = `
host: https://worker.example.com/
cluster:
  name: worker
  labels: gpu,GCP
  projects: [alpha, beta]
`;

describe('currentClusterOf', () => {
  it("reads a worker's name, labels, projects and API URL from its config", () => {
    const cluster = currentClusterOf(parseInstallConfig(WORKER_YAML, {}));
    expect(cluster).toBeInstanceOf(CurrentCluster);
    expect({ ...cluster }).toEqual({ name: 'worker', labels: ['gpu', 'GCP'], isMaster: false, projects: ['alpha', 'beta'], url: 'https://worker.example.com' });
  });

  it('is the master without a cluster section: no labels, every project', () => {
    const cluster = currentClusterOf(parseInstallConfig('host: http://127.0.0.1:8080\n', {}));
    expect({ ...cluster }).toEqual({ name: 'master', labels: [], isMaster: true, projects: undefined, url: 'http://127.0.0.1:8080' });
  });

  it('is frozen, and does not share the lists of the config', () => {
    const config = parseInstallConfig(WORKER_YAML, {});
    const cluster = currentClusterOf(config);
    expect(Object.isFrozen(cluster)).toBe(true);
    expect(Object.isFrozen(cluster.labels)).toBe(true);
    expect(cluster.labels).not.toBe(config.cluster.labels);
  });
});

it('is provided globally by InstallConfigModule.forRoot, under its class', async () => {
  const config = parseInstallConfig(WORKER_YAML, {});
  const moduleRef = await Test.createTestingModule({ imports: [InstallConfigModule.forRoot(config), FeatureModule] }).compile();

  expect(moduleRef.get(CurrentCluster).name).toBe('worker');
  expect(moduleRef.get(NeedsCluster).cluster).toBe(moduleRef.get(CurrentCluster));
  await moduleRef.close();
});
