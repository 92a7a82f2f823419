import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, type Env, type InstallConfig, loadInstallConfig, parseInstallConfig, registryCertificateFile } from '.';

const CWD = '/srv/infrabox';

/** The seed's database block, the same in both of its examples. */
const SEED_DATABASE = `database:
  postgres:
    enabled: true
    db: infrabox
    host: my-db-host.my-domain.com
    password: myuser
    username: mypw
`;

const MASTER_YAML = `
host: master.aws.my-domain.com
${SEED_DATABASE}storage:
  s3:
    enabled: true
    access_key_id: myaccesskeyid
    bucket: infrabox
    secret_access_key: mysecretsaccesskey
`;

const WORKER_YAML = `
cluster:
  name: worker
  labels: my-worker,GCP
host: master.aws.my-domain.com
${SEED_DATABASE}storage:
  gcs:
    enabled: true
    bucket: mybucket
    service_account: <base64 encoded service account .json>
`;

const parse = (yaml: string, env: Env = {}): InstallConfig => parseInstallConfig(yaml, env, CWD, 'test.yaml');

function problemsOf(yaml: string, env: Env = {}): string[] {
  try {
    parse(yaml, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const base64Json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');

describe('seed examples from the multi-cluster docs', () => {
  it('loads the master example', () => {
    const config = parse(MASTER_YAML);
    expect(config.cluster).toEqual({ name: 'master', labels: [], isMaster: true });
    expect(config.apiUrl).toBe('https://master.aws.my-domain.com');
    expect(config.listenPort).toBe(8080);
    expect(config.database).toEqual({
      kind: 'postgres',
      url: 'postgres://mypw:myuser@my-db-host.my-domain.com:5432/infrabox',
    });
    expect(config.storage).toEqual({
      kind: 's3',
      bucket: 'infrabox',
      region: 'us-east-1',
      forcePathStyle: false,
      accessKeyId: 'myaccesskeyid',
      secretAccessKey: 'mysecretsaccesskey',
    });
    expect(config.logLevel).toBe('log');
  });

  it('loads the worker example, keeping the service account placeholder as is', () => {
    const config = parse(WORKER_YAML);
    expect(config.cluster).toEqual({ name: 'worker', labels: ['my-worker', 'GCP'], isMaster: false });
    expect(config.database).toEqual({
      kind: 'postgres',
      url: 'postgres://mypw:myuser@my-db-host.my-domain.com:5432/infrabox',
    });
    expect(config.storage).toEqual({
      kind: 'gcs',
      bucket: 'mybucket',
      serviceAccount: '<base64 encoded service account .json>',
    });
  });
});

describe('loadInstallConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'infrabox-config-'));
  writeFileSync(join(dir, 'worker.yaml'), WORKER_YAML);

  it('uses all defaults when there is no file', () => {
    const config = loadInstallConfig({ env: {}, cwd: CWD });
    expect(config).toEqual({
      apiUrl: 'http://127.0.0.1:8080',
      listenPort: 8080,
      bindAddress: '127.0.0.1',
      cluster: { name: 'master', labels: [], isMaster: true },
      database: { kind: 'embedded', dataDir: '/srv/infrabox/.infrabox/postgres', port: 54329 },
      storage: { kind: 'local', path: '/srv/infrabox/.infrabox/storage' },
      ha: { leaseMs: 15_000, shutdownGraceMs: 30_000 },
      logLevel: 'log',
      scheduler: { executor: 'container', container: { pullPolicy: 'if-not-present', allowPrivileged: false }, orProcess: true },
      events: { retentionSeconds: 7 * 86_400 },
      registry: { url: 'http://127.0.0.1:9080', port: 9080, signingKey: '/srv/infrabox/.infrabox/registry/master/signing-key.pem' },
      auth: { signingKey: '/srv/infrabox/.infrabox/keys/master/token-key.pem' },
      archives: {},
      timeouts: { transferIdleMs: 30_000, apiIdleMs: 120_000 },
    });
  });

  it('reads the caps of uploaded archives, naming a bad one', () => {
    expect(parse('host: x\narchives:\n  max_entries: 1000\n  max_unpacked_bytes: 1048576\n').archives).toEqual({ maxEntries: 1000, maxUnpackedBytes: 1048576 });
    expect(problemsOf('host: x\narchives:\n  max_entries: 0\n  max_files: 3\n')).toEqual([
      'archives.max_entries: expected a whole number of at least 1, got 0',
      'archives.max_files: unknown field',
    ]);
  });

  it('listens on loopback when the cluster URL is a loopback one, else on every interface, unless api.bind says', () => {
    expect(parse('host: http://127.0.0.1:8080\n').bindAddress).toBe('127.0.0.1');
    expect(parse('host: http://localhost:8080\n').bindAddress).toBe('127.0.0.1');
    expect(parse('host: http://[::1]:8080\n').bindAddress).toBe('::1');
    expect(parse('host: https://master.ci.example.com\n').bindAddress).toBe('0.0.0.0');
    expect(parse('host: http://127.0.0.1:8080\napi:\n  bind: 0.0.0.0\n').bindAddress).toBe('0.0.0.0');
    expect(parse('host: https://ci.example.com\napi:\n  bind: "::"\n').bindAddress).toBe('::');
    expect(problemsOf('host: x\napi:\n  bind: everywhere\n')).toEqual(['api.bind: expected an IP address to listen on (0.0.0.0 for every interface), got "everywhere"']);
  });

  it('reads auth.signing_key relative to cwd, per cluster by default, and names a folder given for it', () => {
    expect(parse('host: x\ncluster:\n  name: w1\n').auth).toEqual({ signingKey: `${CWD}/.infrabox/keys/w1/token-key.pem` });
    expect(loadInstallConfig({ file: 'worker.yaml', env: {}, cwd: dir }).auth!.signingKey).toBe(join(dir, '.infrabox/keys/worker/token-key.pem'));
    expect(parse('host: x\nauth:\n  signing_key: keys/master.pem\n').auth).toEqual({ signingKey: `${CWD}/keys/master.pem` });
    expect(problemsOf('host: x\nauth:\n  signing_key: keys/\n  issuer: me\n')).toEqual([
      'auth.signing_key: expected a file (the PEM private key), not a folder, got "keys/"',
      'auth.issuer: unknown field',
    ]);
  });

  it('reads the login of the master (auth.oidc, auth.admins) with its defaults, and names bad values', () => {
    const yaml = 'host: https://ci.example.com\nauth:\n  admins: [root@example.com, root@example.com]\n  oidc:\n    issuer: https://dex.example.com/\n    client_id: infrabox\n    client_secret_file: secrets/oidc\n';
    expect(parse(yaml).auth).toEqual({
      signingKey: `${CWD}/.infrabox/keys/master/token-key.pem`,
      admins: ['root@example.com'],
      oidc: {
        issuer: 'https://dex.example.com',
        clientId: 'infrabox',
        clientSecretFile: `${CWD}/secrets/oidc`,
        usernameClaim: 'email',
        scopes: ['openid', 'email', 'profile'],
        redirectUri: 'https://ci.example.com/api/v1/auth/callback',
      },
    });
    expect(parse('host: x\nauth:\n  oidc:\n    issuer: http://127.0.0.1:9000\n    client_id: cli\n    username_claim: preferred_username\n    scopes: [openid]\n').auth?.oidc).toMatchObject({
      usernameClaim: 'preferred_username',
      scopes: ['openid'],
    });
    expect(problemsOf('host: x\nauth:\n  admins: ["a b", 7]\n  oidc:\n    issuer: dex\n    client_id: ""\n    scopes: ["open id"]\n    secret: x\n')).toEqual([
      'auth.admins[0]: expected a username (no spaces, at most 200 characters), got "a b"',
      'auth.admins[1]: expected a string, got 7',
      'auth.oidc.issuer: expected an http(s) URL, got "dex"',
      'auth.oidc.client_id: must not be empty',
      'auth.oidc.scopes[0]: expected a scope (no spaces or quotes)',
      'auth.oidc.secret: unknown field',
    ]);
    expect(problemsOf('host: x\ncluster:\n  name: w1\nauth:\n  oidc:\n    issuer: https://dex.example.com\n    client_id: c\n')).toEqual([
      "auth.oidc: users log in at the master only; leave it out of cluster 'w1' (its api accepts the master's user tokens)",
    ]);
    expect(problemsOf('host: x\ncluster:\n  name: w1\nauth:\n  admins: [a]\n')).toEqual([
      "auth.admins: users log in at the master only; leave it out of cluster 'w1' (its api accepts the master's user tokens)",
    ]);
  });

  it('reads the ha section (seconds, fractions allowed) and names bad values', () => {
    expect(parse('host: x\nha:\n  lease_seconds: 2.5\n  shutdown_grace_seconds: 4\n').ha).toEqual({ leaseMs: 2_500, shutdownGraceMs: 4_000 });
    expect(problemsOf('host: x\nha:\n  lease_seconds: 0\n  shutdown_grace_seconds: soon\n  leader: 1\n')).toEqual([
      'ha.lease_seconds: expected a number of seconds above 0 and at most 3600, got 0',
      'ha.shutdown_grace_seconds: expected a number of seconds above 0 and at most 86400, got "soon"',
      'ha.leader: unknown field',
    ]);
  });

  it('reads the file given as option, relative to cwd', () => {
    expect(loadInstallConfig({ file: 'worker.yaml', env: {}, cwd: dir }).cluster.name).toBe('worker');
  });

  it('falls back to INFRABOX_CONFIG', () => {
    const config = loadInstallConfig({ env: { INFRABOX_CONFIG: join(dir, 'worker.yaml') }, cwd: CWD });
    expect(config.cluster.labels).toEqual(['my-worker', 'GCP']);
  });

  it('reports a missing file as a ConfigError', () => {
    expect(() => loadInstallConfig({ file: 'missing.yaml', env: {}, cwd: dir })).toThrow(
      /^Invalid install configuration .*missing\.yaml:\n {2}- \(file\): cannot read: ENOENT/,
    );
  });

  it('requires host when a file is given', () => {
    expect(problemsOf('cluster:\n  name: worker\n')).toEqual(['host: required']);
    expect(problemsOf('')).toEqual(['host: required']);
  });

  it('applies env overrides without a file', () => {
    const config = loadInstallConfig({ env: { DATABASE_URL: 'postgres://u@db/x', INFRABOX_LOG_LEVEL: 'debug' }, cwd: CWD });
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgres://u@db/x' });
    expect(config.logLevel).toBe('debug');
  });
});

describe('host', () => {
  it('takes scheme and port from host', () => {
    const config = parse('host: http://127.0.0.1:8081/\n');
    expect(config.apiUrl).toBe('http://127.0.0.1:8081');
    expect(config.listenPort).toBe(8081);
  });

  it('keeps an explicit default port as listen port', () => {
    const config = parse('host: https://Infra.Example.com:443\n');
    expect(config.apiUrl).toBe('https://infra.example.com');
    expect(config.listenPort).toBe(443);
  });

  it('uses api.port only when host has no port', () => {
    expect(parse('host: example.com\napi:\n  port: 9000\n').listenPort).toBe(9000);
    expect(parse('host: example.com:7000\napi:\n  port: 9000\n').listenPort).toBe(7000);
  });

  it('rejects paths, queries and other schemes', () => {
    expect(problemsOf('host: https://example.com/api\n')).toEqual([
      'host: must be a scheme, host and optional port only, without path, query or fragment, got "https://example.com/api"',
    ]);
    expect(problemsOf('host: example.com?x=1\n')[0]).toMatch(/^host: must be a scheme, host and optional port only/);
    expect(problemsOf('host: ftp://example.com\n')).toEqual(['host: scheme must be http or https, got "ftp://example.com"']);
  });
});

describe('storage', () => {
  it('rejects two enabled backends with the exact message', () => {
    const yaml = `host: x
storage:
  s3: {enabled: true, bucket: a}
  gcs: {enabled: true, bucket: b}
`;
    expect(problemsOf(yaml)).toEqual(['storage: exactly one backend must be enabled, found s3 and gcs']);
  });

  it('lists three enabled backends with commas', () => {
    const yaml = `host: x
storage:
  local: {enabled: true, path: /data}
  gcs: {enabled: true, bucket: b}
  s3: {enabled: true, bucket: a}
`;
    expect(problemsOf(yaml)).toEqual(['storage: exactly one backend must be enabled, found s3, gcs and local']);
  });

  it('rejects backends that are all disabled', () => {
    const yaml = `host: x
storage:
  s3: {enabled: false, bucket: a}
  local: {enabled: false}
`;
    expect(problemsOf(yaml)).toEqual(['storage: exactly one backend must be enabled, found none']);
  });

  it('defaults force_path_style to true for S3-compatible endpoints', () => {
    const config = parse('host: x\nstorage:\n  s3: {enabled: true, bucket: a, endpoint: "http://minio:9000", region: eu-west-1}\n');
    expect(config.storage).toMatchObject({ kind: 's3', endpoint: 'http://minio:9000', forcePathStyle: true, region: 'eu-west-1' });
  });

  it('resolves an explicit local path against cwd', () => {
    expect(parse('host: x\nstorage:\n  local: {enabled: true, path: data/blobs}\n').storage).toEqual({
      kind: 'local',
      path: '/srv/infrabox/data/blobs',
    });
  });

  it('requires the fields of the enabled backend', () => {
    expect(problemsOf('host: x\nstorage:\n  gcs: {enabled: true}\n')).toEqual(['storage.gcs.bucket: required when enabled']);
  });

  it('checks a real base64 service account decodes to a JSON object', () => {
    const ok = parse(`host: x\nstorage:\n  gcs: {enabled: true, bucket: b, service_account: "${base64Json({ type: 'service_account' })}"}\n`);
    expect(ok.storage).toMatchObject({ kind: 'gcs', serviceAccount: base64Json({ type: 'service_account' }) });
    expect(problemsOf('host: x\nstorage:\n  gcs: {enabled: true, bucket: b, service_account: "WzFd"}\n')).toEqual([
      'storage.gcs.service_account: expected base64 of a service account JSON object',
    ]);
  });

  it('checks a 12 MB base64 service account without overflowing the stack', () => {
    const huge = Buffer.from(JSON.stringify(['x'.repeat(9 * 1024 * 1024)])).toString('base64');
    expect(problemsOf(`host: x\nstorage:\n  gcs: {enabled: true, bucket: b, service_account: "${huge}"}\n`)).toEqual([
      'storage.gcs.service_account: expected base64 of a service account JSON object',
    ]);
  });
});

describe('database', () => {
  it('is embedded when postgres is disabled, with optional overrides', () => {
    const yaml = `host: x
database:
  postgres: {enabled: false}
  embedded: {data_dir: /var/lib/pg, port: 6000}
`;
    expect(parse(yaml).database).toEqual({ kind: 'embedded', dataDir: '/var/lib/pg', port: 6000 });
  });

  it('URL-encodes credentials and uses the configured port', () => {
    const yaml = `host: x
database:
  postgres: {enabled: true, db: ci, host: db.local, port: 6543, username: "ci@corp", password: "p@ss:w/rd"}
`;
    expect(parse(yaml).database).toEqual({ kind: 'postgres', url: 'postgres://ci%40corp:p%40ss%3Aw%2Frd@db.local:6543/ci' });
  });
});

describe('events', () => {
  it('keeps handled events 7 days unless told otherwise', () => {
    expect(parse(MASTER_YAML).events).toEqual({ retentionSeconds: 7 * 86_400 });
    expect(parse('host: x\nevents:\n').events).toEqual({ retentionSeconds: 7 * 86_400 });
  });

  it('reads the retention as a duration or whole seconds', () => {
    expect(parse('host: x\nevents:\n  retention: 30m\n').events).toEqual({ retentionSeconds: 1_800 });
    expect(parse('host: x\nevents:\n  retention: 24h\n').events).toEqual({ retentionSeconds: 86_400 });
    expect(parse('host: x\nevents:\n  retention: 2d\n').events).toEqual({ retentionSeconds: 172_800 });
    expect(parse('host: x\nevents:\n  retention: 3600\n').events).toEqual({ retentionSeconds: 3_600 });
  });

  it('names the field and the reason for a bad retention', () => {
    const problems = (yaml: string) => {
      try {
        parse(yaml);
      } catch (error) {
        return (error as ConfigError).problems;
      }
      throw new Error('accepted');
    };
    expect(problems('host: x\nevents:\n  retention: soon\n')).toEqual([
      'events.retention: expected a duration such as 30m, 24h or 7d (or whole seconds), got "soon"',
    ]);
    expect(problems('host: x\nevents:\n  retention: 1m\n')).toEqual(['events.retention: must be between 10m and 365d, got "1m"']);
    expect(problems('host: x\nevents:\n  retention: 400d\n')).toEqual(['events.retention: must be between 10m and 365d, got "400d"']);
    expect(problems('host: x\nevents:\n  retention: 1.5\n')).toEqual([
      'events.retention: expected a duration such as 30m, 24h or 7d (or whole seconds), got 1.5',
    ]);
    expect(problems('host: x\nevents:\n  keep: 1d\n')).toEqual(['events.keep: unknown field']);
  });
});

describe('scheduler', () => {
  it('runs jobs in containers unless told otherwise (processes where no engine answers), also for the seed examples', () => {
    const auto = { executor: 'container', container: { pullPolicy: 'if-not-present', allowPrivileged: false }, orProcess: true };
    expect(parse(MASTER_YAML).scheduler).toEqual(auto);
    expect(parse(WORKER_YAML).scheduler).toEqual(auto);
    expect(parse('host: x\nscheduler:\n  executor: process\n').scheduler).toEqual({ executor: 'process' });
  });

  it('reads the container executor: asked for, it has no process fallback; pull policy and privileged jobs', () => {
    expect(parse('host: x\nscheduler:\n  executor: container\n  container:\n    pull_policy: never\n    allow_privileged: true\n').scheduler).toEqual({
      executor: 'container',
      container: { pullPolicy: 'never', allowPrivileged: true },
      orProcess: false,
    });
    expect(problemsOf('host: x\nscheduler:\n  container:\n    pull_policy: sometimes\n')).toEqual([
      'scheduler.container.pull_policy: expected one of if-not-present, always, never, got "sometimes"',
    ]);
  });

  it('reads the kubernetes executor with its defaults', () => {
    const yaml = 'host: https://w.example.com\nscheduler:\n  executor: kubernetes\n  kubernetes:\n    in_cluster: true\n    helper_image: infrabox:1\n';
    expect(parse(yaml).scheduler).toEqual({
      executor: 'kubernetes',
      kubernetes: {
        namespace: 'default',
        access: { kind: 'in-cluster' },
        helperImage: 'infrabox:1',
        apiUrl: 'https://w.example.com',
        ttlSecondsAfterFinished: 600,
      },
    });
  });

  it('resolves a kubeconfig against cwd and takes every field', () => {
    const yaml = [
      'host: x',
      'scheduler:',
      '  executor: kubernetes',
      '  kubernetes:',
      '    namespace: ci-jobs',
      '    kubeconfig: kube/config',
      '    helper_image: registry.example.com/infrabox:2',
      '    api_url: http://infrabox-api.infrabox.svc:8080/',
      '    ttl_seconds_after_finished: 60',
      '',
    ].join('\n');
    expect(parse(yaml).scheduler).toEqual({
      executor: 'kubernetes',
      kubernetes: {
        namespace: 'ci-jobs',
        access: { kind: 'kubeconfig', path: '/srv/infrabox/kube/config' },
        helperImage: 'registry.example.com/infrabox:2',
        apiUrl: 'http://infrabox-api.infrabox.svc:8080',
        ttlSecondsAfterFinished: 60,
      },
    });
  });

  it('names each bad field', () => {
    expect(problemsOf('host: x\nscheduler:\n  executor: docker\n')).toEqual(['scheduler.executor: expected one of container, process, kubernetes, got "docker"']);
    expect(problemsOf('host: x\nscheduler:\n  executor: kubernetes\n')).toEqual(['scheduler.kubernetes: required when executor is kubernetes']);
    expect(problemsOf('host: x\nscheduler:\n  executor: kubernetes\n  kubernetes: {}\n')).toEqual([
      'scheduler.kubernetes: set in_cluster: true or kubeconfig: FILE',
      'scheduler.kubernetes.helper_image: required',
    ]);
    expect(
      problemsOf(
        'host: x\nscheduler:\n  executor: kubernetes\n  kubernetes: {in_cluster: true, kubeconfig: k, helper_image: i, namespace: Bad_NS, ttl_seconds_after_finished: -1, nodes: 3}\n',
      ),
    ).toEqual([
      'scheduler.kubernetes.namespace: must be a Kubernetes namespace name (a DNS label), got "Bad_NS"',
      'scheduler.kubernetes.ttl_seconds_after_finished: must be 0 or more',
      'scheduler.kubernetes.nodes: unknown field',
      'scheduler.kubernetes: set either in_cluster: true or kubeconfig, not both',
    ]);
  });
});

describe('validation problems', () => {
  it('quotes an unknown field whose name has blanks, colons or control characters, so each line stays "field: reason"', () => {
    expect(problemsOf('host: x\n"a b:\\u0000c": 1\n')).toEqual(['"a\\u0020b\\u003a\\u0000c": unknown field']);
  });

  it('reports unknown fields with their path', () => {
    expect(problemsOf('host: x\nclster:\n  name: worker\n')).toEqual(['clster: unknown field']);
    expect(problemsOf('host: x\nstorage:\n  s3: {enabled: true, bucket: a, bukcet: b}\n')).toEqual(['storage.s3.bukcet: unknown field']);
  });

  it('reports a port of the wrong type', () => {
    const yaml = 'host: x\ndatabase:\n  postgres: {enabled: true, db: a, host: b, username: c, port: abc}\n';
    expect(problemsOf(yaml)).toEqual(['database.postgres.port: expected an integer between 1 and 65535, got "abc"']);
  });

  it('reports wrong scalar types in plain words', () => {
    expect(problemsOf('host: 42\n')).toEqual(['host: expected a string, got 42']);
    expect(problemsOf('host: x\nstorage:\n  s3: {enabled: "yes", bucket: a}\n')).toEqual([
      'storage.s3.enabled: expected a boolean, got "yes"',
    ]);
  });

  it('does not echo secret values', () => {
    expect(problemsOf('host: x\ndatabase:\n  postgres: {enabled: false, password: 123456}\n')).toEqual([
      'database.postgres.password: expected a string, got a number',
    ]);
  });

  it('rejects cluster names that are not DNS labels', () => {
    const [problem] = problemsOf('host: x\ncluster:\n  name: Worker_1\n');
    expect(problem).toMatch(/^cluster\.name: must be a DNS label .*got "Worker_1"$/);
  });

  it('trims labels, drops empty ones and accepts a YAML list', () => {
    expect(parse('host: x\ncluster:\n  labels: " a , b,,"\n').cluster.labels).toEqual(['a', 'b']);
    expect(parse('host: x\ncluster:\n  labels: [a, b]\n').cluster.labels).toEqual(['a', 'b']);
  });

  it('rejects duplicate labels', () => {
    expect(problemsOf('host: x\ncluster:\n  labels: my-worker,GCP, GCP\n')).toEqual(["cluster.labels: duplicate label 'GCP'"]);
    expect(problemsOf('host: x\ncluster:\n  labels: [a, 1]\n')).toEqual(['cluster.labels[1]: expected a string, got 1']);
  });

  it('reports a YAML syntax error with line and column', () => {
    expect(problemsOf('host: x\nstorage:\n  s3: enabled: true\n')).toEqual([
      '(yaml): syntax error at line 3, column 7: Nested mappings are not allowed in compact mappings',
    ]);
  });

  // Found by the bad-input sweep: yaml threw a ReferenceError, and the app died with a stack trace.
  it('refuses aliases that multiply ("billion laughs") as a ConfigError', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    expect(problemsOf(`host: x\n${lines.join('\n')}\n`)).toEqual([
      '(yaml): cannot read the document: Excessive alias count indicates a resource exhaustion attack',
    ]);
  });

  // Found by the bad-input sweep: a 10 MB label came back whole in the message.
  it('cuts very long values and keys in its messages', () => {
    const long = 'L'.repeat(10 * 1024 * 1024);
    expect(problemsOf(`host: x\ncluster:\n  labels: ${long},${long}\n`)).toEqual([`cluster.labels: duplicate label '${'L'.repeat(57)}...'`]);
    expect(problemsOf(`host: x\n? ${'k'.repeat(5000)}\n: 1\n`)).toEqual([`${'k'.repeat(57)}...: unknown field`]);
    expect(problemsOf('host: x\n"": 1\n')).toEqual(['"": unknown field']);
  });

  it('requires a mapping at the top level', () => {
    expect(problemsOf('- host: x\n')).toEqual(['(root): expected a mapping, got a list']);
  });

  it('reports all problems at once in a readable message', () => {
    const yaml = `host: https://example.com/api
cluster:
  name: Worker
  labels: a,a
database:
  postgres: {enabled: true, port: abc}
storage:
  s3: {enabled: true}
  gcs: {enabled: true, bucket: b}
`;
    let error: unknown;
    try {
      parse(yaml, { INFRABOX_LOG_LEVEL: 'trace' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message } = error as ConfigError;
    expect(problems).toEqual([
      expect.stringMatching(/^host: must be a scheme, host and optional port only/),
      expect.stringMatching(/^cluster\.name: must be a DNS label/),
      "cluster.labels: duplicate label 'a'",
      'database.postgres.port: expected an integer between 1 and 65535, got "abc"',
      'database.postgres.db: required when enabled',
      'database.postgres.host: required when enabled',
      'database.postgres.username: required when enabled',
      'storage.s3.bucket: required when enabled',
      'storage: exactly one backend must be enabled, found s3 and gcs',
      'INFRABOX_LOG_LEVEL: expected one of error, warn, log, debug, verbose, got "trace"',
    ]);
    expect(message).toBe(`Invalid install configuration test.yaml:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  });
});

describe('env overrides', () => {
  it('overrides the database password and S3 keys', () => {
    const config = parse(MASTER_YAML, {
      INFRABOX_DATABASE_PASSWORD: 's3cr:t',
      INFRABOX_STORAGE_S3_ACCESS_KEY_ID: 'env-key',
      INFRABOX_STORAGE_S3_SECRET_ACCESS_KEY: 'env-secret',
    });
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgres://mypw:s3cr%3At@my-db-host.my-domain.com:5432/infrabox' });
    expect(config.storage).toMatchObject({ accessKeyId: 'env-key', secretAccessKey: 'env-secret' });
  });

  it('overrides and validates the GCS service account', () => {
    const serviceAccount = base64Json({ type: 'service_account' });
    expect(parse(WORKER_YAML, { INFRABOX_STORAGE_GCS_SERVICE_ACCOUNT: serviceAccount }).storage).toMatchObject({ serviceAccount });
    expect(problemsOf(WORKER_YAML, { INFRABOX_STORAGE_GCS_SERVICE_ACCOUNT: 'WzFd' })).toEqual([
      'storage.gcs.service_account: expected base64 of a service account JSON object',
    ]);
  });

  it('does not create sections that the file does not configure', () => {
    const config = parse(WORKER_YAML, { INFRABOX_STORAGE_S3_ACCESS_KEY_ID: 'unused' });
    expect(config.storage.kind).toBe('gcs');
  });

  it('replaces the whole database section with DATABASE_URL', () => {
    const url = 'postgresql://ci:pw@other-db:5433/ci';
    expect(parse(MASTER_YAML, { DATABASE_URL: url }).database).toEqual({ kind: 'postgres', url });
    expect(parse(MASTER_YAML, { DATABASE_URL: '' }).database).toMatchObject({ url: expect.stringContaining('my-db-host') });
    expect(problemsOf(MASTER_YAML, { DATABASE_URL: 'mysql://x' })).toEqual(['DATABASE_URL: expected a postgres:// or postgresql:// URL']);
  });

  it('puts the pools behind DATABASE_POOLER_URL, beside DATABASE_URL for the direct sessions', () => {
    const url = 'postgresql://ci:pw@db:5432/ci';
    const poolerUrl = 'postgresql://ci:pw@pgbouncer:6432/ci';
    expect(parse(MASTER_YAML, { DATABASE_URL: url, DATABASE_POOLER_URL: poolerUrl }).database).toEqual({ kind: 'postgres', url, poolerUrl });
    expect(problemsOf(MASTER_YAML, { DATABASE_URL: url, DATABASE_POOLER_URL: 'pgbouncer:6432' })).toEqual(['DATABASE_POOLER_URL: expected a postgres:// or postgresql:// URL']);
    expect(problemsOf(MASTER_YAML, { DATABASE_POOLER_URL: poolerUrl })).toEqual([
      'DATABASE_POOLER_URL: set DATABASE_URL too (the direct connection that LISTEN, session locks and migrations need)',
    ]);
  });
});

describe('database.postgres.pooler', () => {
  const withPooler = (pooler: string) => MASTER_YAML.replace('    host: my-db-host.my-domain.com\n', `    host: my-db-host.my-domain.com\n    pooler: ${pooler}\n`);

  it('sends the pools through the pooler with the same database and login, port 6432 by default', () => {
    expect(parse(withPooler('{host: pgbouncer.infrabox.svc}')).database).toEqual({
      kind: 'postgres',
      url: 'postgres://mypw:myuser@my-db-host.my-domain.com:5432/infrabox',
      poolerUrl: 'postgres://mypw:myuser@pgbouncer.infrabox.svc:6432/infrabox',
    });
    expect(parse(withPooler('{host: "::1", port: 7432}')).database).toMatchObject({ poolerUrl: 'postgres://mypw:myuser@[::1]:7432/infrabox' });
  });

  it('names a bad pooler field', () => {
    expect(problemsOf(withPooler('{port: 6432}'))).toEqual([expect.stringMatching(/^database\.postgres\.pooler\.host: /)]);
    expect(problemsOf(withPooler('{host: pgb, mode: session}'))).toEqual([expect.stringMatching(/^database\.postgres\.pooler\.mode: /)]);
  });
});

it('returns a deeply frozen object', () => {
  const config = parse(WORKER_YAML);
  expect(Object.isFrozen(config)).toBe(true);
  expect(Object.isFrozen(config.cluster)).toBe(true);
  expect(Object.isFrozen(config.cluster.labels)).toBe(true);
  expect(Object.isFrozen(config.storage)).toBe(true);
  expect(() => (config.cluster.labels as string[]).push('x')).toThrow(TypeError);
  expect(() => {
    (config.cluster as { name: string }).name = 'x';
  }).toThrow(TypeError);
});

describe('registry', () => {
  const parse = (yaml: string) => parseInstallConfig(yaml, {}, CWD);
  const masterKey = '/srv/infrabox/.infrabox/registry/master/signing-key.pem';
  it('defaults to the api host on the api port + 1000, the signing key in the cluster\'s folder', () => {
    expect(parse('host: http://127.0.0.1:8081\n').registry).toEqual({ url: 'http://127.0.0.1:9081', port: 9081, signingKey: masterKey });
    expect(parse('host: master.example.com\n').registry).toEqual({ url: 'https://master.example.com:9080', port: 9080, signingKey: masterKey });
    expect(parse('host: x\ncluster: {name: w1}\n').registry?.signingKey).toBe('/srv/infrabox/.infrabox/registry/w1/signing-key.pem');
  });
  it('takes url, port and signing key from the config', () => {
    expect(parse('host: http://127.0.0.1:8081\nregistry:\n  url: https://registry.example.com\n').registry).toEqual({ url: 'https://registry.example.com', port: 9081, signingKey: masterKey });
    expect(parse('host: http://127.0.0.1:8081\nregistry:\n  url: http://10.0.0.1:5000\n').registry).toEqual({ url: 'http://10.0.0.1:5000', port: 5000, signingKey: masterKey });
    expect(parse('host: http://127.0.0.1:8081\nregistry:\n  port: 5001\n').registry).toEqual({ url: 'http://127.0.0.1:5001', port: 5001, signingKey: masterKey });
    expect(parse('host: x\nregistry:\n  signing_key: keys/registry.pem\n').registry?.signingKey).toBe('/srv/infrabox/keys/registry.pem');
    expect(registryCertificateFile('/k/registry.pem')).toBe('/k/registry.crt');
    expect(registryCertificateFile('/k/registry.key')).toBe('/k/registry.key.crt');
  });
  it('refuses bad fields, naming them', () => {
    expect(() => parse('host: http://127.0.0.1:8081\nregistry:\n  prot: 1\n')).toThrow('registry.prot: unknown field');
    expect(() => parse('host: http://127.0.0.1:8081\nregistry:\n  port: 70000\n')).toThrow('registry.port: expected an integer between 1 and 65535');
    expect(() => parse('host: http://127.0.0.1:8081\nregistry:\n  url: http://r/x\n')).toThrow('registry.url: must be a scheme, host and optional port only');
    expect(() => parse('host: http://127.0.0.1:65000\n')).toThrow('registry.port: the default');
    expect(() => parse('host: x\nregistry:\n  signing_key: ""\n')).toThrow('registry.signing_key: must not be empty, got ""');
    expect(() => parse('host: x\nregistry:\n  signing_key: /etc/keys/\n')).toThrow('registry.signing_key: expected a file (the PEM private key), not a folder, got "/etc/keys/"');
    expect(() => parse('host: x\nregistry:\n  signing_key: /etc/k.crt\n')).toThrow('registry.signing_key: must not end in .crt');
    expect(() => parse('host: x\nregistry:\n  signing_key: 5\n')).toThrow('registry.signing_key: expected a string, got 5');
  });
});
