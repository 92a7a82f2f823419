/**
 * InfraBox's own validator tests (`src/pyinfrabox/tests/test_json.py` in SAP/InfraBox), all 41
 * cases, run through `checkDefinitionFile`: what `infrabox validate` runs. Each case is named
 * after its Python test (with its place there when the test has several) and keeps its input as
 * written. Where InfraBox refuses, we must refuse too, at the same place; the line we give is
 * pinned here in full (our wording, not InfraBox's, names the offending value), with InfraBox's
 * message alongside for comparison.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkDefinitionFile } from './definition-file.reader';

interface PyCase {
  /** `test_version`, or `test_version #2` for the second check of that test. */
  name: string;
  input: unknown;
  /** InfraBox's ValidationError text; absent where `validate_json` accepts the input. */
  infrabox?: string;
  /** The line `infrabox validate` must print (one of its lines). */
  ours?: string;
}

const limits = { limits: { cpu: 1, memory: 1024 } };
const docker = (job: Record<string, unknown>) => ({ type: 'docker', docker_file: 'Dockerfile', resources: limits, build_only: false, ...job });

/** test_dependency_conditions: compile2 depends on compile with `dependsOn`. */
const conditions = (dependsOn: unknown) => ({
  version: 1,
  jobs: [
    docker({ name: 'compile', docker_file: 'test/Dockerfile_benchmarks' }),
    docker({ name: 'compile2', docker_file: 'test/Dockerfile_benchmarks', depends_on: dependsOn }),
  ],
});
/** test_environment, test_deployments, test_build_arguments: one docker job with `field`. */
const single = (field: string, value: unknown) => ({
  version: 1,
  jobs: [{ type: 'docker', name: 'test', docker_file: 'Dockerfile', resources: limits, [field]: value }],
});

const ONE_OF_CONDITIONS = 'is not one of finished, error, failure, unstable, *';

const CASES: PyCase[] = [
  { name: 'test_version #1', input: {}, infrabox: "#: property 'version' is required", ours: '#version: required' },
  { name: 'test_version #2', input: { version: 'asd', jobs: [] }, infrabox: '#version: must be an int', ours: '#version: expected an integer, got "asd"' },
  { name: 'test_version #3', input: { version: '1', jobs: [] }, infrabox: '#version: must be an int', ours: '#version: expected an integer, got "1"' },
  { name: 'test_version #4', input: { version: 2, jobs: [] }, infrabox: '#version: unsupported version', ours: '#version: must be 1, got 2' },
  { name: 'test_jobs #1', input: { version: 1, jobs: 'asd' }, infrabox: '#jobs: must be an array', ours: '#jobs: expected an array, got "asd"' },
  { name: 'test_jobs #2', input: { version: 1, jobs: [{}] }, infrabox: "#jobs[0]: does not contain a 'type'", ours: '#jobs[0].type: required' },
  { name: 'test_empty_jobs', input: { version: 1, jobs: [] } },
  {
    name: 'test_dep_defined_later',
    input: { version: 1, jobs: [docker({ name: 'source', depends_on: ['compile'] }), docker({ name: 'compile' })] },
  },
  {
    name: 'test_dep_detect_circular_dependency',
    input: {
      version: 1,
      jobs: [docker({ name: 'a', depends_on: ['b'] }), docker({ name: 'b', depends_on: ['c'] }), docker({ name: 'c', depends_on: ['a'] })],
    },
    infrabox: 'Jobs: Circular dependency detected.',
    ours: '#jobs: dependency cycle a -> b -> c -> a',
  },
  {
    name: 'test_dep_not_found',
    input: { version: 1, jobs: [docker({ name: 'compile', docker_file: 'test/Dockerfile_benchmarks', depends_on: ['not_found'] })] },
    infrabox: "#jobs[0].depends_on: Job 'not_found' not found",
    ours: "#jobs[0].depends_on: Job 'not_found' not found",
  },
  {
    name: 'test_deps_must_be_unique',
    input: { version: 1, jobs: [docker({ name: 'source' }), docker({ name: 'compile', depends_on: ['source', 'source'] })] },
    infrabox: "#jobs[1].depends_on: 'source' duplicate dependencies",
    ours: "#jobs[1].depends_on: Job 'source' listed twice",
  },
  {
    name: 'test_duplicate_job_name',
    input: {
      version: 1,
      jobs: [
        docker({ name: 'compile', docker_file: 'test/Dockerfile_benchmarks' }),
        docker({ name: 'compile', docker_file: 'test/Dockerfile_benchmarks', depends_on: ['compile'] }),
      ],
    },
    infrabox: "#jobs[1].name: Job name 'compile' already exists",
    ours: "#jobs[1].name: Job name 'compile' already defined",
  },
  {
    name: 'test_dependency_conditions #1',
    input: conditions([{ job: 'compile', on: true }]),
    infrabox: '#jobs[1].depends_on[0].on: must be a list',
    ours: '#jobs[1].depends_on[0].on: expected an array, got true',
  },
  {
    name: 'test_dependency_conditions #2',
    input: conditions([{ job: 'compile', on: [] }]),
    infrabox: '#jobs[1].depends_on[0].on: must not be empty',
    ours: '#jobs[1].depends_on[0].on: must not be empty',
  },
  {
    name: 'test_dependency_conditions #3',
    input: conditions([{ job: 'compile', on: [true] }]),
    infrabox: '#jobs[1].depends_on[0].on: True is not a valid value',
    ours: `#jobs[1].depends_on[0].on[0]: true ${ONE_OF_CONDITIONS}`,
  },
  {
    name: 'test_dependency_conditions #4',
    input: conditions([{ job: 'compile', on: ['not valid'] }]),
    infrabox: '#jobs[1].depends_on[0].on: not valid is not a valid value',
    ours: `#jobs[1].depends_on[0].on[0]: 'not valid' ${ONE_OF_CONDITIONS}`,
  },
  {
    name: 'test_dependency_conditions #5',
    input: conditions([{ job: 'not-valid', on: ['*'] }]),
    infrabox: "#jobs[1].depends_on: Job 'not-valid' not found",
    ours: "#jobs[1].depends_on: Job 'not-valid' not found",
  },
  {
    name: 'test_dependency_conditions #6',
    input: conditions([{ job: 'compile', on: ['error', 'error'] }]),
    infrabox: '#jobs[1].depends_on[0].on: error used twice',
    ours: "#jobs[1].depends_on[0].on[1]: Condition 'error' listed twice",
  },
  {
    name: 'test_empty_dep_array',
    input: { version: 1, jobs: [docker({ name: 'compile', docker_file: 'test/Dockerfile_benchmarks', depends_on: [] })] },
    infrabox: '#jobs[0].depends_on: must not be empty',
    ours: '#jobs[0].depends_on: must not be empty',
  },
  {
    name: 'test_invalid_name #1',
    input: { version: 1, jobs: [docker({ name: '../blub' })] },
    infrabox: "#jobs[0].name: '../blub' not a valid value",
    ours: '#jobs[0].name: must match ^[a-zA-Z0-9_-]+$ and be 1 to 200 characters long, got "../blub"',
  },
  {
    name: 'test_invalid_name #2',
    input: { version: 1, jobs: [docker({ name: "blub'" })] },
    infrabox: "#jobs[0].name: 'blub'' not a valid value",
    ours: `#jobs[0].name: must match ^[a-zA-Z0-9_-]+$ and be 1 to 200 characters long, got "blub'"`,
  },
  {
    name: 'test_may_not_depend_on_itself',
    input: { version: 1, jobs: [docker({ name: 'compile', depends_on: ['compile'] })] },
    infrabox: "#jobs[0]: Job 'compile' may not depend on itself",
    ours: "#jobs[0].depends_on: Job 'compile' depends on itself",
  },
  {
    name: 'test_may_not_create_jobs',
    input: { version: 1, jobs: [docker({ name: 'Create Jobs', docker_file: 'test/Dockerfile_benchmarks' })] },
    infrabox: "#jobs[0].name: 'Create Jobs' not a valid value",
    ours: '#jobs[0].name: must match ^[a-zA-Z0-9_-]+$ and be 1 to 200 characters long, got "Create Jobs"',
  },
  {
    name: 'test_environment #1',
    input: single('environment', null),
    infrabox: '#jobs[0].environment: must be an object',
    ours: '#jobs[0].environment: expected an object, got null',
  },
  {
    name: 'test_environment #2',
    input: single('environment', []),
    infrabox: '#jobs[0].environment: must be an object',
    ours: '#jobs[0].environment: expected an object, got an array',
  },
  {
    name: 'test_environment #3',
    input: single('environment', { key: 123 }),
    infrabox: '#jobs[0].environment.key: must be a string or object',
    ours: '#jobs[0].environment.key: expected a string, {"$secret": ...} or {"$vault": ..., "$vault_secret_path": ..., "$vault_secret_key": ...}, got 123',
  },
  {
    name: 'test_environment #4',
    input: single('environment', { key: {} }),
    infrabox: '#jobs[0].environment.key: must contain a $secret',
    ours: '#jobs[0].environment.key: expected a string, {"$secret": ...} or {"$vault": ..., "$vault_secret_path": ..., "$vault_secret_key": ...}, got an object',
  },
  {
    name: 'test_environment #5',
    input: single('environment', { key: { $secret: null } }),
    infrabox: '#jobs[0].environment.key.$secret: is not a string',
    ours: '#jobs[0].environment.key.$secret: expected a string, got null',
  },
  { name: 'test_environment #6', input: single('environment', {}) },
  {
    name: 'test_deployments #1',
    input: single('deployments', null),
    infrabox: '#jobs[0].deployments: must be an array',
    ours: '#jobs[0].deployments: expected an array, got null',
  },
  {
    name: 'test_deployments #2',
    input: single('deployments', []),
    infrabox: '#jobs[0].deployments: must not be empty',
    ours: '#jobs[0].deployments: must not be empty',
  },
  {
    name: 'test_deployments #3',
    input: single('deployments', [{}]),
    infrabox: "#jobs[0].deployments[0]: does not contain a 'type'",
    ours: '#jobs[0].deployments[0].type: required',
  },
  {
    name: 'test_deployments #4',
    input: single('deployments', [{ type: 'unknown' }]),
    infrabox: "#jobs[0].deployments[0]: type 'unknown' not supported",
    ours: "#jobs[0].deployments[0].type: 'unknown' is not one of docker-registry",
  },
  {
    name: 'test_deployments #5',
    input: single('deployments', [{ type: 'docker-registry', host: 'hostname', repository: 'repo', username: 'user', password: 'value' }]),
    infrabox: '#jobs[0].deployments[0].password: must be an object',
    ours: '#jobs[0].deployments[0].password: expected {"$secret": "<name>"}, got "value"',
  },
  {
    name: 'test_deployments #6',
    input: single('deployments', [{ type: 'docker-registry', host: 'hostname', repository: 'repo', username: 'user', password: { $secret: 'blub' } }]),
  },
  {
    name: 'test_build_arguments #1',
    input: single('build_arguments', null),
    infrabox: '#jobs[0].build_arguments: must be an object',
    ours: '#jobs[0].build_arguments: expected an object, got null',
  },
  {
    name: 'test_build_arguments #2',
    input: single('build_arguments', []),
    infrabox: '#jobs[0].build_arguments: must be an object',
    ours: '#jobs[0].build_arguments: expected an object, got an array',
  },
  {
    name: 'test_build_arguments #3',
    input: single('build_arguments', { key: 123 }),
    infrabox: '#jobs[0].build_arguments.key: is not a string',
    ours: '#jobs[0].build_arguments.key: expected a string, got 123',
  },
  {
    name: 'test_build_arguments #4',
    input: single('build_arguments', { key: {} }),
    infrabox: '#jobs[0].build_arguments.key: is not a string',
    ours: '#jobs[0].build_arguments.key: expected a string, got an object',
  },
  { name: 'test_build_arguments #5', input: single('build_arguments', {}) },
  {
    name: 'test_valid',
    input: {
      version: 1,
      jobs: [
        docker({ name: 'compile', docker_file: 'test/Dockerfile_benchmarks' }),
        docker({ name: 'benchmark_server', docker_file: 'test/Dockerfile_benchmarks', depends_on: ['compile'] }),
        docker({ name: 'test_server', docker_file: 'test/Dockerfile_test_server', depends_on: ['compile'] }),
      ],
    },
  },
];

describe("InfraBox's test_json.py through infrabox validate", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'infrabox-test-json-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const check = (input: unknown) => {
    const file = path.join(dir, 'infrabox.json');
    writeFileSync(file, JSON.stringify(input, null, 2));
    return checkDefinitionFile(file);
  };

  it('ports all 41 cases', () => {
    expect(CASES).toHaveLength(41);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(41);
  });

  it.each(CASES.filter((c) => c.ours === undefined).map((c) => [c.name, c] as const))('%s: accepted, as by InfraBox', (_name, testCase) => {
    expect(check(testCase.input)).toMatchObject({ ok: true });
  });

  it.each(CASES.filter((c) => c.ours !== undefined).map((c) => [c.name, c] as const))('%s: refused, as by InfraBox', (_name, testCase) => {
    const result = check(testCase.input);
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.lines).toContain(testCase.ours);
  });
});
