import { MAX_INCLUDE_DEPTH, validateBuildDefinitionReading } from '@infrabox/job-definition';
import { definitionOf, doc, errorsOf, memoryLoader } from './test-helpers';
import { resolveIncludePath } from './workflow-includes';

const wait = (name: string, ...dependsOn: unknown[]) =>
  dependsOn.length > 0 ? { name, type: 'wait', depends_on: dependsOn } : { name, type: 'wait' };
const workflow = (name: string, infraboxFile: string, extra: Record<string, unknown> = {}) => ({
  name,
  type: 'workflow',
  infrabox_file: infraboxFile,
  ...extra,
});
const graph = (jobs: Array<{ name: string; dependsOn: Array<{ job: string; on: string[] }> }>) =>
  jobs.map((j) => [j.name, j.dependsOn.map((d) => `${d.job}:${d.on.join('|')}`)]);

describe('workflow expansion', () => {
  it('prefixes an included job’s "image": {"job": …} like its depends_on', () => {
    const loadInclude = memoryLoader({
      'ci/image.json': doc(
        { name: 'img', type: 'docker', docker_file: 'Dockerfile' },
        { name: 'use', type: 'docker-image', image: { job: 'img' }, command: ['true'], depends_on: ['img'] },
      ),
    });
    const jobs = definitionOf(doc(workflow('sub', 'ci/image.json')), { loadInclude }).jobs;
    expect(jobs.find((j) => j.name === 'sub/use')).toMatchObject({ image: { job: 'sub/img' }, dependsOn: [{ job: 'sub/img' }] });
  });

  it('prefixes included jobs and rewires dependencies through the workflow', () => {
    const loadInclude = memoryLoader({
      'ci/build.json': doc(wait('compile'), wait('test', 'compile'), wait('lint')),
    });
    const root = doc(
      wait('setup'),
      workflow('build', 'ci/build.json', { depends_on: ['setup'] }),
      wait('deploy', { job: 'build', on: ['finished', 'failure'] }),
    );
    expect(graph(definitionOf(root, { loadInclude }).jobs)).toEqual([
      ['setup', []],
      ['build/compile', ['setup:finished']],
      ['build/test', ['build/compile:finished']],
      ['build/lint', ['setup:finished']],
      ['deploy', ['build/test:finished|failure', 'build/lint:finished|failure']],
    ]);
    expect(loadInclude.calls).toEqual(['ci/build.json']);
  });

  it('resolves nested includes relative to the including file', () => {
    const loadInclude = memoryLoader({
      'ci/build.json': doc(wait('prepare'), workflow('unit', 'tests/unit.json', { depends_on: ['prepare'] })),
      'ci/tests/unit.json': doc(wait('run'), wait('report', 'run')),
    });
    expect(graph(definitionOf(doc(workflow('build', 'ci/build.json'), wait('after', 'build')), { loadInclude }).jobs)).toEqual([
      ['build/prepare', []],
      ['build/unit/run', ['build/prepare:finished']],
      ['build/unit/report', ['build/unit/run:finished']],
      ['after', ['build/unit/report:finished']],
    ]);
    expect(loadInclude.calls).toEqual(['ci/build.json', 'ci/tests/unit.json']);
  });

  it('resolves includes against the directory of options.file', () => {
    const loadInclude = memoryLoader({ 'app/sub.json': doc(wait('x')) });
    expect(definitionOf(doc(workflow('w', './sub.json')), { file: 'app/infrabox.json', loadInclude }).jobs[0]?.name).toBe('w/x');
  });

  it('lets a workflow depend on a job defined after it', () => {
    const loadInclude = memoryLoader({ 'w.json': doc(wait('x')) });
    expect(graph(definitionOf(doc(workflow('w', 'w.json', { depends_on: ['late'] }), wait('late')), { loadInclude }).jobs)).toEqual([
      ['w/x', ['late:finished']],
      ['late', []],
    ]);
  });

  it('passes dependencies through an include without jobs', () => {
    const loadInclude = memoryLoader({ 'empty.json': doc() });
    expect(graph(definitionOf(doc(wait('a'), workflow('w', 'empty.json', { depends_on: ['a'] }), wait('b', 'w')), { loadInclude }).jobs)).toEqual([
      ['a', []],
      ['b', ['a:finished']],
    ]);
  });

  it('gives included jobs the workflow cluster unless they set their own', () => {
    const loadInclude = memoryLoader({ 'w.json': doc(wait('x'), { ...wait('y'), cluster: { selector: ['own'] } }) });
    const jobs = definitionOf(doc(workflow('w', 'w.json', { cluster: { selector: ['eu'] } })), { loadInclude }).jobs;
    expect(jobs.map((j) => j.cluster)).toEqual([{ selector: ['eu'] }, { selector: ['own'] }]);
  });

  it('allows including the same file twice', () => {
    const loadInclude = memoryLoader({ 'lib.json': doc(wait('x')) });
    expect(definitionOf(doc(workflow('a', 'lib.json'), workflow('b', 'lib.json')), { loadInclude }).jobs.map((j) => j.name)).toEqual([
      'a/x',
      'b/x',
    ]);
  });
});

describe('errors in included files', () => {
  it('prefixes paths with the included file', () => {
    const loadInclude = memoryLoader({ 'sub/infrabox.json': doc({ name: 'x', type: 'docker-image' }, wait('y', 'nope')) });
    expect(errorsOf(doc(workflow('w', 'sub/infrabox.json'), wait('z', 'missing')), { loadInclude })).toEqual([
      "#jobs[1].depends_on: Job 'missing' not found",
      'sub/infrabox.json#jobs[0].image: required',
      "sub/infrabox.json#jobs[1].depends_on: Job 'nope' not found",
    ]);
  });

  it('reports invalid JSON in an include', () => {
    const loadInclude = memoryLoader({ 'sub.json': '{"version": 1,\n"jobs": [' });
    expect(errorsOf(doc(workflow('w', 'sub.json')), { loadInclude })).toEqual([
      'sub.json#: invalid JSON: unexpected end of input at line 2 column 10',
    ]);
  });

  it('detects include cycles', () => {
    const loadInclude = memoryLoader({
      'b.json': doc(workflow('back', 'a.json')),
      'a.json': '{}',
    });
    expect(errorsOf(doc(wait('x'), wait('y'), workflow('w', 'b.json')), { file: 'a.json', loadInclude })).toEqual([
      'b.json#jobs[0].infrabox_file: include cycle a.json -> b.json -> a.json',
    ]);
  });

  it('detects a file including itself', () => {
    expect(errorsOf(doc(workflow('w', './infrabox.json')), { loadInclude: memoryLoader({}) })).toEqual([
      '#jobs[0].infrabox_file: include cycle infrabox.json -> infrabox.json',
    ]);
  });

  it('rejects include paths escaping the repository root', () => {
    const loadInclude = memoryLoader({ 'sub/inner.json': doc(workflow('deep', '../../x.json')), 'x.json': doc(wait('ok')) });
    expect(errorsOf(doc(workflow('a', '../x.json'), workflow('b', 'sub/inner.json')), { loadInclude })).toEqual([
      '#jobs[0].infrabox_file: must not point outside the repository root, got "../x.json"',
      'sub/inner.json#jobs[0].infrabox_file: must not point outside the repository root, got "../../x.json"',
    ]);
  });

  it('rejects absolute include paths', () => {
    expect(errorsOf(doc(workflow('a', '/etc/infrabox.json')), { loadInclude: memoryLoader({}) })).toEqual([
      '#jobs[0].infrabox_file: must be a path relative to the including file, got "/etc/infrabox.json"',
    ]);
  });

  it('reports loader failures', () => {
    expect(errorsOf(doc(workflow('a', 'missing.json')), { loadInclude: memoryLoader({}) })).toEqual([
      "#jobs[0].infrabox_file: cannot load missing.json: ENOENT: no such file 'missing.json'",
    ]);
  });

  it('reports a missing loader', () => {
    expect(errorsOf(doc(workflow('a', 'x.json')))).toEqual(['#jobs[0].infrabox_file: cannot load x.json: no include loader configured']);
  });
});

describe('resolveIncludePath', () => {
  it.each([
    ['infrabox.json', 'ci/build.json', { path: 'ci/build.json' }],
    ['ci/infrabox.json', '../other.json', { path: 'other.json' }],
    ['ci/infrabox.json', './a/../b.json', { path: 'ci/b.json' }],
    ['ci/infrabox.json', '../../x.json', { error: 'must not point outside the repository root, got "../../x.json"' }],
    ['infrabox.json', 'C:/x.json', { error: 'must be a path relative to the including file, got "C:/x.json"' }],
    ['infrabox.json', 'ci\\x.json', { error: `must use '/' as path separator, got "ci\\\\x.json"` }],
    ['infrabox.json', 'ci/', { error: 'must name a file, got "ci/"' }],
  ])('from %s, %s → %j', (from, target, expected) => {
    expect(resolveIncludePath(from, target)).toEqual(expected);
  });
});

describe('validateBuildDefinitionReading (includes read in batches, as from an uploaded source)', () => {
  /** A reader over an in-memory repository that records each batch it was asked for. */
  const batchReader = (files: Record<string, unknown>) => {
    const batches: string[][] = [];
    const read = async (paths: string[]) => {
      batches.push([...paths].sort());
      const answer = new Map<string, string>();
      for (const path of paths) if (files[path] !== undefined) answer.set(path, JSON.stringify(files[path]));
      return answer;
    };
    return Object.assign(read, { batches });
  };
  const files = {
    'ci/a.json': doc(wait('a1'), workflow('deeper', 'inner/b.json', { depends_on: ['a1'] })),
    'ci/c.json': doc(wait('c1')),
    'ci/inner/b.json': doc(wait('b1')),
  };
  const root = doc(wait('prep'), workflow('a', 'ci/a.json', { depends_on: ['prep'] }), workflow('c', 'ci/c.json'));

  it('gives what validateBuildDefinition gives with a loader, reading one batch per include depth', async () => {
    const readIncludes = batchReader(files);
    const result = await validateBuildDefinitionReading(JSON.stringify(root), { readIncludes });
    expect(result).toEqual({ ok: true, definition: definitionOf(root, { loadInclude: memoryLoader(files) }) });
    expect(readIncludes.batches).toEqual([['ci/a.json', 'ci/c.json'], ['ci/inner/b.json']]);
  });

  it('names a missing include, and an unreadable one with the reader’s reason, at its infrabox_file', async () => {
    const readIncludes = async (paths: string[]) => new Map(paths.filter((p) => p === 'ci/c.json').map((p) => [p, new Error('is a directory, not a file')]));
    expect(await validateBuildDefinitionReading(root, { readIncludes })).toEqual({
      ok: false,
      errors: ['#jobs[1].infrabox_file: cannot load ci/a.json: no such file', '#jobs[2].infrabox_file: cannot load ci/c.json: is a directory, not a file'],
    });
  });

  it(`refuses includes nested deeper than ${MAX_INCLUDE_DEPTH} levels, in as many reads at most`, async () => {
    const chain: Record<string, unknown> = {};
    for (let level = 1; level <= MAX_INCLUDE_DEPTH + 1; level++) chain[`l${level}.json`] = doc(workflow('next', `l${level + 1}.json`));
    const readIncludes = batchReader(chain);
    const result = await validateBuildDefinitionReading(doc(workflow('next', 'l1.json')), { readIncludes });
    expect(result).toEqual({
      ok: false,
      errors: [`l${MAX_INCLUDE_DEPTH}.json#jobs[0].infrabox_file: cannot load l${MAX_INCLUDE_DEPTH + 1}.json: includes nest deeper than ${MAX_INCLUDE_DEPTH} levels`],
    });
    expect(readIncludes.batches).toHaveLength(MAX_INCLUDE_DEPTH);
  });
});
