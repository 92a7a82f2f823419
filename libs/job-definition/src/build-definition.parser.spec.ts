import { definitionOf, doc, errorsOf } from './test-helpers';

const image = (extra: Record<string, unknown> = {}) => ({ name: 'a', type: 'docker-image', image: 'alpine', ...extra });

describe('document structure', () => {
  it('parses the seed job with defaults applied', () => {
    const seed =
      '{"version":1,"jobs":[{"name":"my-job","type":"docker-image","image":"alpine","command":["true"],"cluster":{"selector":["GCP"]}}]}';
    expect(definitionOf(seed)).toEqual({
      version: 1,
      jobs: [
        {
          type: 'docker-image',
          name: 'my-job',
          image: 'alpine',
          command: ['true'],
          cluster: { selector: ['GCP'] },
          dependsOn: [],
          environment: {},
          resources: { limits: { cpu: 1, memory: 1024 } },
          timeoutSeconds: 3600,
          run: true,
          repository: { clone: true, submodules: true, fullHistory: false },
          cache: { data: true, image: false },
          securityContext: { privileged: false },
          deployments: [],
        },
      ],
    });
  });

  it('allows an empty job list', () => {
    expect(definitionOf(doc())).toEqual({ version: 1, jobs: [] });
  });

  it('requires the document to be an object', () => {
    expect(errorsOf([])).toEqual(['#: expected an object, got an array']);
  });

  it('requires version and jobs', () => {
    expect(errorsOf({})).toEqual(['#version: required', '#jobs: required']);
  });

  it('requires version to be an integer', () => {
    expect(errorsOf({ version: '1', jobs: [] })).toEqual(['#version: expected an integer, got "1"']);
  });

  it('only supports version 1', () => {
    expect(errorsOf({ version: 2, jobs: [] })).toEqual(['#version: must be 1, got 2']);
  });

  it('requires jobs to be an array', () => {
    expect(errorsOf({ version: 1, jobs: {} })).toEqual(['#jobs: expected an array, got an object']);
  });

  it('rejects unknown top-level properties', () => {
    expect(errorsOf({ version: 1, jobs: [], foo: true })).toEqual(['#foo: unknown property']);
  });

  // Found by the bad-input sweep: a 10 MB key came back whole in its path.
  it('cuts a very long unknown key in its path', () => {
    expect(errorsOf({ version: 1, jobs: [], ['k'.repeat(10 * 1024 * 1024)]: true })).toEqual([`#["${'k'.repeat(57)}..."]: unknown property`]);
  });

  it('reports every error, not just the first', () => {
    expect(errorsOf({ version: 1, jobs: [image({ timeout: '10', foo: 1 }), { type: 'wait' }] })).toEqual([
      '#jobs[0].timeout: expected an integer, got "10"',
      '#jobs[0].foo: unknown property',
      '#jobs[1].name: required',
    ]);
  });
});

describe('common job rules', () => {
  it('requires a job to be an object', () => {
    expect(errorsOf(doc('a'))).toEqual(['#jobs[0]: expected an object, got "a"']);
  });

  it('requires type (and still checks the name)', () => {
    expect(errorsOf(doc({ image: 'alpine' }))).toEqual(['#jobs[0].type: required', '#jobs[0].name: required']);
  });

  it('rejects unknown job types', () => {
    expect(errorsOf(doc({ name: 'a', type: 'git' }))).toEqual([
      "#jobs[0].type: 'git' is not one of docker-image, docker, docker-compose, wait, workflow",
    ]);
  });

  it('requires a name', () => {
    expect(errorsOf(doc({ type: 'docker-image', image: 'alpine' }))).toEqual(['#jobs[0].name: required']);
  });

  it('restricts names to ^[a-zA-Z0-9_-]+$', () => {
    expect(errorsOf(doc(image({ name: 'a/b' })))).toEqual([
      '#jobs[0].name: must match ^[a-zA-Z0-9_-]+$ and be 1 to 200 characters long, got "a/b"',
    ]);
  });

  it('rejects empty names', () => {
    expect(errorsOf(doc(image({ name: '' })))).toEqual([
      '#jobs[0].name: must match ^[a-zA-Z0-9_-]+$ and be 1 to 200 characters long, got ""',
    ]);
  });

  it('accepts names of 200 characters and rejects longer ones', () => {
    expect(errorsOf(doc(image({ name: 'x'.repeat(200) })))).toEqual([]);
    expect(errorsOf(doc(image({ name: 'x'.repeat(201) })))).toEqual([
      `#jobs[0].name: must match ^[a-zA-Z0-9_-]+$ and be 1 to 200 characters long, got "${'x'.repeat(55)}..."`,
    ]);
  });

  it('rejects unknown job properties', () => {
    expect(errorsOf(doc(image({ foo: 1 })))).toEqual(['#jobs[0].foo: unknown property']);
  });

  it('reports wrong types with the offending value', () => {
    expect(errorsOf(doc(image({ cluster: null, run: 'yes', command: 'make' })))).toEqual([
      '#jobs[0].cluster: expected an object, got null',
      '#jobs[0].run: expected a boolean, got "yes"',
      '#jobs[0].command: expected an array, got "make"',
    ]);
  });
});

describe('docker-image', () => {
  it('requires image', () => {
    expect(errorsOf(doc({ name: 'a', type: 'docker-image' }))).toEqual(['#jobs[0].image: required']);
  });

  it('rejects an empty image', () => {
    expect(errorsOf(doc(image({ image: '' })))).toEqual(['#jobs[0].image: must not be empty']);
  });

  it('requires command to be an array of strings', () => {
    expect(errorsOf(doc(image({ command: ['echo', 5] })))).toEqual(['#jobs[0].command[1]: expected a string, got 5']);
  });

  it('maps all optional fields', () => {
    const job = definitionOf(
      doc(
        image({
          timeout: 60,
          run: false,
          resources: { limits: { cpu: 0.5, memory: 256 } },
          security_context: { privileged: true },
          repository: { clone: false, submodules: false, full_history: true },
          cache: { data: false, image: true },
          deployments: [{ type: 'docker-registry', host: 'r.io', repository: 'x/y' }],
        }),
      ),
    ).jobs[0];
    expect(job).toMatchObject({
      timeoutSeconds: 60,
      run: false,
      resources: { limits: { cpu: 0.5, memory: 256 } },
      securityContext: { privileged: true },
      repository: { clone: false, submodules: false, fullHistory: true },
      cache: { data: false, image: true },
      deployments: [{ type: 'docker-registry', host: 'r.io', repository: 'x/y' }],
    });
  });

  it('has no build_only', () => {
    expect(errorsOf(doc(image({ build_only: true })))).toEqual(['#jobs[0].build_only: unknown property']);
  });
});

describe('timeout', () => {
  it('must be an integer', () => {
    expect(errorsOf(doc(image({ timeout: 1.5 })))).toEqual(['#jobs[0].timeout: expected an integer, got 1.5']);
  });

  it('must be at least 1 second', () => {
    expect(errorsOf(doc(image({ timeout: 0 })))).toEqual(['#jobs[0].timeout: must be at least 1, got 0']);
  });
});

describe('resources', () => {
  const withLimits = (limits: unknown) => doc(image({ resources: { limits } }));

  it('requires limits when resources is given', () => {
    expect(errorsOf(doc(image({ resources: {} })))).toEqual(['#jobs[0].resources.limits: required']);
  });

  it('requires cpu and memory', () => {
    expect(errorsOf(withLimits({}))).toEqual(['#jobs[0].resources.limits.cpu: required', '#jobs[0].resources.limits.memory: required']);
  });

  it("refuses cpu at or below InfraBox's floor of 0.3 cores", () => {
    expect(errorsOf(withLimits({ cpu: 0, memory: 512 }))).toEqual([
      "#jobs[0].resources.limits.cpu: must be greater than 0.3 (InfraBox's floor, in cores), got 0",
    ]);
    expect(errorsOf(withLimits({ cpu: 0.3, memory: 512 }))).toEqual([
      "#jobs[0].resources.limits.cpu: must be greater than 0.3 (InfraBox's floor, in cores), got 0.3",
    ]);
    expect(definitionOf(withLimits({ cpu: 0.31, memory: 512 })).jobs[0]).toMatchObject({ resources: { limits: { cpu: 0.31 } } });
  });

  it('requires cpu to be a number', () => {
    expect(errorsOf(withLimits({ cpu: '1', memory: 512 }))).toEqual(['#jobs[0].resources.limits.cpu: expected a number, got "1"']);
  });

  it("requires memory to be an integer of at least InfraBox's floor of 256 MiB", () => {
    expect(errorsOf(withLimits({ cpu: 1, memory: 255 }))).toEqual([
      "#jobs[0].resources.limits.memory: must be at least 256 (InfraBox's floor, in MiB), got 255",
    ]);
    expect(errorsOf(withLimits({ cpu: 1, memory: 256.5 }))).toEqual([
      '#jobs[0].resources.limits.memory: expected an integer, got 256.5',
    ]);
    expect(definitionOf(withLimits({ cpu: 1, memory: 256 })).jobs[0]).toMatchObject({ resources: { limits: { memory: 256 } } });
  });

  it('rejects unknown limits', () => {
    expect(errorsOf(withLimits({ cpu: 1, memory: 512, gpu: 1 }))).toEqual(['#jobs[0].resources.limits.gpu: unknown property']);
  });
});

describe('environment', () => {
  const env = (environment: unknown) => doc(image({ environment }));

  it('accepts strings, $secret and $vault references', () => {
    const job = definitionOf(
      env({
        PLAIN: 'x',
        EMPTY: '',
        TOKEN: { $secret: 'token' },
        PASS: { $vault: 'v', $vault_secret_path: 'kv/app', $vault_secret_key: 'password' },
      }),
    ).jobs[0];
    expect(job).toMatchObject({
      environment: {
        PLAIN: 'x',
        EMPTY: '',
        TOKEN: { secret: 'token' },
        PASS: { vault: 'v', vaultSecretPath: 'kv/app', vaultSecretKey: 'password' },
      },
    });
  });

  it('requires an object', () => {
    expect(errorsOf(env(['A=1']))).toEqual(['#jobs[0].environment: expected an object, got an array']);
  });

  it('rejects values that are neither strings nor references', () => {
    expect(errorsOf(env({ A: 5 }))).toEqual([
      '#jobs[0].environment.A: expected a string, {"$secret": ...} or {"$vault": ..., "$vault_secret_path": ..., "$vault_secret_key": ...}, got 5',
    ]);
  });

  it('rejects an empty secret name', () => {
    expect(errorsOf(env({ A: { $secret: '' } }))).toEqual(['#jobs[0].environment.A.$secret: must not be empty']);
  });

  it('rejects extra properties in a secret reference', () => {
    expect(errorsOf(env({ A: { $secret: 's', key: 'k' } }))).toEqual(['#jobs[0].environment.A.key: unknown property']);
  });

  it('requires all vault properties', () => {
    expect(errorsOf(env({ A: { $vault: 'v', $vault_secret_path: 'p' } }))).toEqual([
      '#jobs[0].environment.A.$vault_secret_key: required',
    ]);
  });

  it('rejects invalid variable names', () => {
    expect(errorsOf(env({ '1A': 'x', 'A B': 'y' }))).toEqual([
      "#jobs[0].environment.1A: invalid environment variable name (letters, digits, '_', '-', '.'; not starting with a digit; at most 1024 characters)",
      `#jobs[0].environment["A B"]: invalid environment variable name (letters, digits, '_', '-', '.'; not starting with a digit; at most 1024 characters)`,
    ]);
  });

  it('refuses a 10 MB variable name with one short line', () => {
    expect(errorsOf(env({ ['A'.repeat(10 * 1024 * 1024)]: 'x' }))).toEqual([
      `#jobs[0].environment["${'A'.repeat(57)}..."]: invalid environment variable name (letters, digits, '_', '-', '.'; not starting with a digit; at most 1024 characters)`,
    ]);
  });
});

describe('cluster', () => {
  it('keeps selector and prefer', () => {
    expect(definitionOf(doc(image({ cluster: { selector: ['GCP', 'eu'], prefer: 'eu' } }))).jobs[0]?.cluster).toEqual({
      selector: ['GCP', 'eu'],
      prefer: 'eu',
    });
  });

  it('rejects an empty selector', () => {
    expect(errorsOf(doc(image({ cluster: { selector: [] } })))).toEqual(['#jobs[0].cluster.selector: must not be empty']);
  });

  it('rejects empty selector labels', () => {
    expect(errorsOf(doc(image({ cluster: { selector: [''] } })))).toEqual(['#jobs[0].cluster.selector[0]: must not be empty']);
  });

  it('requires selector', () => {
    expect(errorsOf(doc(image({ cluster: { prefer: 'eu' } })))).toEqual(['#jobs[0].cluster.selector: required']);
  });

  it('rejects unknown properties', () => {
    expect(errorsOf(doc(image({ cluster: { selector: ['GCP'], region: 'eu' } })))).toEqual([
      '#jobs[0].cluster.region: unknown property',
    ]);
  });
});

describe('docker', () => {
  const docker = (extra: Record<string, unknown> = {}) => ({ name: 'b', type: 'docker', docker_file: 'Dockerfile', ...extra });

  it('requires docker_file', () => {
    expect(errorsOf(doc({ name: 'b', type: 'docker' }))).toEqual(['#jobs[0].docker_file: required']);
  });

  it('maps docker fields; build_only defaults to true as in InfraBox', () => {
    const job = definitionOf(
      doc(
        docker({
          build_context: 'src',
          build_arguments: { VERSION: '1.0' },
          command: ['make', 'test'],
          deployments: [
            { type: 'docker-registry', host: 'r.io', repository: 'x/y', tag: 'v1', username: 'u', password: { $secret: 'pw' } },
          ],
        }),
      ),
    ).jobs[0];
    expect(job).toMatchObject({
      type: 'docker',
      dockerFile: 'Dockerfile',
      buildContext: 'src',
      buildArguments: { VERSION: '1.0' },
      buildOnly: true,
      command: ['make', 'test'],
      timeoutSeconds: 3600,
      deployments: [{ type: 'docker-registry', host: 'r.io', repository: 'x/y', tag: 'v1', username: 'u', password: { secret: 'pw' } }],
    });
  });

  it('requires build arguments to be strings', () => {
    expect(errorsOf(doc(docker({ build_arguments: { V: 1 } })))).toEqual(['#jobs[0].build_arguments.V: expected a string, got 1']);
  });

  it('only supports docker-registry deployments', () => {
    expect(errorsOf(doc(docker({ deployments: [{ type: 'ecr', host: 'h', repository: 'r' }] })))).toEqual([
      "#jobs[0].deployments[0].type: 'ecr' is not one of docker-registry",
    ]);
  });

  it('refuses an empty deployments list, as InfraBox does', () => {
    expect(errorsOf(doc(docker({ deployments: [] })))).toEqual(['#jobs[0].deployments: must not be empty']);
  });

  it('requires deployment host and repository', () => {
    expect(errorsOf(doc(docker({ deployments: [{ type: 'docker-registry' }] })))).toEqual([
      '#jobs[0].deployments[0].host: required',
      '#jobs[0].deployments[0].repository: required',
    ]);
  });

  it('requires a deployment password to be a secret reference', () => {
    expect(errorsOf(doc(docker({ deployments: [{ type: 'docker-registry', host: 'h', repository: 'r', password: 'hunter2' }] })))).toEqual([
      '#jobs[0].deployments[0].password: expected {"$secret": "<name>"}, got "hunter2"',
    ]);
  });

  it('has no run flag', () => {
    expect(errorsOf(doc(docker({ run: true })))).toEqual(['#jobs[0].run: unknown property']);
  });
});

describe('docker-compose', () => {
  it('requires docker_compose_file', () => {
    expect(errorsOf(doc({ name: 'c', type: 'docker-compose' }))).toEqual(['#jobs[0].docker_compose_file: required']);
  });

  it('parses runnable fields', () => {
    expect(definitionOf(doc({ name: 'c', type: 'docker-compose', docker_compose_file: 'dc.yml', timeout: 10 })).jobs[0]).toMatchObject({
      type: 'docker-compose',
      dockerComposeFile: 'dc.yml',
      timeoutSeconds: 10,
      resources: { limits: { cpu: 1, memory: 1024 } },
    });
  });

  it('has no command', () => {
    expect(errorsOf(doc({ name: 'c', type: 'docker-compose', docker_compose_file: 'dc.yml', command: [] }))).toEqual([
      '#jobs[0].command: unknown property',
    ]);
  });
});

describe('wait', () => {
  it('allows depends_on and cluster only', () => {
    expect(definitionOf(doc(image(), { name: 'w', type: 'wait', depends_on: ['a'], cluster: { selector: ['x'] } })).jobs[1]).toEqual({
      type: 'wait',
      name: 'w',
      dependsOn: [{ job: 'a', on: ['finished'] }],
      cluster: { selector: ['x'] },
    });
    expect(errorsOf(doc({ name: 'w', type: 'wait', timeout: 5 }))).toEqual(['#jobs[0].timeout: unknown property']);
  });
});

describe('workflow', () => {
  it('requires infrabox_file', () => {
    expect(errorsOf(doc({ name: 'w', type: 'workflow' }))).toEqual(['#jobs[0].infrabox_file: required']);
  });
});

describe('depends_on entries', () => {
  const dependent = (dependsOn: unknown) => doc(image(), { name: 'b', type: 'wait', depends_on: dependsOn });

  it('defaults a bare name to on: ["finished"] and keeps explicit conditions', () => {
    expect(definitionOf(doc(image(), image({ name: 'x' }), { name: 'b', type: 'wait', depends_on: ['a', { job: 'x', on: ['error', '*'] }] })).jobs[2]?.dependsOn).toEqual([
      { job: 'a', on: ['finished'] },
      { job: 'x', on: ['error', '*'] },
    ]);
  });

  it('must be an array', () => {
    expect(errorsOf(dependent('a'))).toEqual(['#jobs[1].depends_on: expected an array, got "a"']);
  });

  it('must not be empty, as in InfraBox (leave it out instead)', () => {
    expect(errorsOf(dependent([]))).toEqual(['#jobs[1].depends_on: must not be empty']);
  });

  it('rejects entries that are neither names nor objects', () => {
    expect(errorsOf(dependent([1]))).toEqual(['#jobs[1].depends_on[0]: expected a job name or {"job": ..., "on": [...]}, got 1']);
  });

  it('requires on in the object form', () => {
    expect(errorsOf(dependent([{ job: 'a' }]))).toEqual(['#jobs[1].depends_on[0].on: required']);
  });

  it('requires a non-empty on', () => {
    expect(errorsOf(dependent([{ job: 'a', on: [] }]))).toEqual(['#jobs[1].depends_on[0].on: must not be empty']);
  });

  it('names the unknown condition', () => {
    expect(errorsOf(dependent([{ job: 'a', on: ['bogus'] }]))).toEqual([
      "#jobs[1].depends_on[0].on[0]: 'bogus' is not one of finished, error, failure, unstable, *",
    ]);
    expect(errorsOf(dependent([{ job: 'a', on: [true] }]))).toEqual([
      '#jobs[1].depends_on[0].on[0]: true is not one of finished, error, failure, unstable, *',
    ]);
  });

  it('rejects unknown conditions', () => {
    expect(errorsOf(dependent([{ job: 'a', on: ['finished', 'success'] }]))).toEqual([
      "#jobs[1].depends_on[0].on[1]: 'success' is not one of finished, error, failure, unstable, *",
    ]);
  });

  it('rejects a condition listed twice', () => {
    expect(errorsOf(dependent([{ job: 'a', on: ['error', 'error'] }]))).toEqual([
      "#jobs[1].depends_on[0].on[1]: Condition 'error' listed twice",
    ]);
  });

  it('rejects unknown properties in the object form', () => {
    expect(errorsOf(dependent([{ job: 'a', on: ['*'], when: 'x' }]))).toEqual(['#jobs[1].depends_on[0].when: unknown property']);
  });

  it('refuses a timeout over 7 days (a timer of over 2^31 ms fired at once), naming the maximum', () => {
    expect(errorsOf({ version: 1, jobs: [image({ timeout: 604_800 })] })).toEqual([]);
    expect(errorsOf({ version: 1, jobs: [image({ timeout: 604_801 })] })).toEqual(['#jobs[0].timeout: must be at most 604800 (7 days, in seconds), got 604801']);
    expect(errorsOf({ version: 1, jobs: [image({ timeout: 2_147_484 })] })).toEqual(['#jobs[0].timeout: must be at most 604800 (7 days, in seconds), got 2147484']);
  });
});
