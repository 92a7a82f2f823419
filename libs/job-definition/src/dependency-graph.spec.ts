import { definitionOf, doc, errorsOf } from './test-helpers';

const wait = (name: string, ...dependsOn: unknown[]) =>
  dependsOn.length > 0 ? { name, type: 'wait', depends_on: dependsOn } : { name, type: 'wait' };

describe('dependency graph', () => {
  it('rejects duplicate job names', () => {
    expect(errorsOf(doc(wait('a'), wait('b'), wait('c'), wait('b')))).toEqual(["#jobs[3].name: Job name 'b' already defined"]);
  });

  it('rejects dependencies on unknown jobs', () => {
    expect(errorsOf(doc(wait('a'), wait('b', 'x')))).toEqual(["#jobs[1].depends_on: Job 'x' not found"]);
  });

  it('rejects a job listed twice, whatever the form', () => {
    expect(errorsOf(doc(wait('a'), wait('b', 'a', { job: 'a', on: ['error'] })))).toEqual([
      "#jobs[1].depends_on: Job 'a' listed twice",
    ]);
  });

  it('rejects self-dependencies', () => {
    expect(errorsOf(doc(wait('a'), wait('b', 'b')))).toEqual(["#jobs[1].depends_on: Job 'b' depends on itself"]);
  });

  it('allows depending on a job defined later', () => {
    expect(definitionOf(doc(wait('a', 'b'), wait('b'))).jobs.map((j) => j.name)).toEqual(['a', 'b']);
  });

  it('reports a cycle once, from the first job in the file, a -> b meaning "a depends on b"', () => {
    expect(errorsOf(doc(wait('a', 'b'), wait('b', 'c'), wait('c', 'a')))).toEqual(['#jobs: dependency cycle a -> b -> c -> a']);
  });

  it('reports each independent cycle', () => {
    expect(errorsOf(doc(wait('x'), wait('c', 'd'), wait('a', 'b', 'x'), wait('b', 'a'), wait('d', 'c')))).toEqual([
      '#jobs: dependency cycle c -> d -> c',
      '#jobs: dependency cycle a -> b -> a',
    ]);
  });

  it('names the shortest cycle through the first job of a tangle', () => {
    expect(errorsOf(doc(wait('a', 'b'), wait('b', 'c', 'a'), wait('c', 'a')))).toEqual(['#jobs: dependency cycle a -> b -> a']);
  });

  it('skips cycle detection while other errors exist', () => {
    expect(errorsOf(doc(wait('a', 'b'), wait('b', 'a'), { name: 'c', type: 'wait', foo: 1 }))).toEqual(['#jobs[2].foo: unknown property']);
  });

  it('still checks the valid entries of a broken depends_on', () => {
    expect(errorsOf(doc(wait('a'), wait('b', 'zz', 5)))).toEqual([
      '#jobs[1].depends_on[1]: expected a job name or {"job": ..., "on": [...]}, got 5',
      "#jobs[1].depends_on: Job 'zz' not found",
    ]);
  });

  it('does not report references to a job whose name is merely invalid', () => {
    expect(errorsOf(doc(wait('a b'), wait('c', 'a b')))).toEqual([
      '#jobs[0].name: must match ^[a-zA-Z0-9_-]+$ and be 1 to 200 characters long, got "a b"',
    ]);
  });

  it('handles long dependency chains without recursion limits', () => {
    const jobs = Array.from({ length: 20000 }, (_, i) => wait(`j${i}`, `j${(i + 1) % 20000}`));
    const errors = errorsOf(doc(...jobs));
    // A long cycle is named by its first ten jobs and its length: one short line (found by the bad-input sweep).
    expect(errors).toEqual(['#jobs: dependency cycle j0 -> j1 -> j2 -> j3 -> j4 -> j5 -> j6 -> j7 -> j8 -> j9 -> ... (20000 jobs)']);
  });

  // Found by the bad-input sweep: a 10 MB name came back whole in the message.
  it('cuts very long names in its messages', () => {
    const long = 'd'.repeat(10 * 1024 * 1024);
    expect(errorsOf(doc(wait('a'), wait('b', long)))).toEqual([`#jobs[1].depends_on: Job '${'d'.repeat(57)}...' not found`]);
  });
});

describe('"image": {"job": …}: the image a docker parent built', () => {
  const docker = (name: string) => ({ name, type: 'docker', docker_file: 'Dockerfile' });
  const runs = (name: string, image: unknown, ...dependsOn: string[]) => ({ name, type: 'docker-image', image, command: ['true'], ...(dependsOn.length > 0 && { depends_on: dependsOn }) });

  it('is read as a reference to the parent', () => {
    const definition = definitionOf(doc(docker('img'), runs('use', { job: 'img' }, 'img')));
    expect(definition.jobs[1]).toMatchObject({ name: 'use', image: { job: 'img' } });
  });

  it('must name a docker job among depends_on', () => {
    expect(errorsOf(doc(docker('img'), runs('use', { job: 'nope' }, 'img')))).toEqual(["#jobs[1].image.job: Job 'nope' not found"]);
    expect(errorsOf(doc(docker('img'), wait('w'), runs('use', { job: 'w' }, 'w')))).toEqual([
      "#jobs[2].image.job: Job 'w' is not a docker job: only a docker job builds an image",
    ]);
    expect(errorsOf(doc(docker('img'), runs('use', { job: 'img' })))).toEqual([
      "#jobs[1].image.job: Job 'img' must be in depends_on: the image is built before this job runs",
    ]);
  });

  it('is an image name or {"job": …}, nothing else', () => {
    expect(errorsOf(doc(runs('use', 42)))).toEqual(['#jobs[0].image: expected an image name or {"job": "<parent>"}, got 42']);
    expect(errorsOf(doc(runs('use', { job: '' })))).toEqual(expect.arrayContaining([expect.stringMatching(/^#jobs\[0\]\.image\.job: /)]));
  });
});
