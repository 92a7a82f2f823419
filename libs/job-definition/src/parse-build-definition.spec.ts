import { DefinitionError, parseBuildDefinition, validateBuildDefinition } from '@infrabox/job-definition';

const seed = { version: 1, jobs: [{ name: 'my-job', type: 'docker-image', image: 'alpine', command: ['true'], cluster: { selector: ['GCP'] } }] };

describe('parseBuildDefinition', () => {
  it('accepts text or an already parsed value', () => {
    expect(parseBuildDefinition(JSON.stringify(seed))).toEqual(parseBuildDefinition(seed));
    expect(parseBuildDefinition(seed).jobs[0]?.name).toBe('my-job');
  });

  it('throws a DefinitionError carrying all errors', () => {
    const error = (() => {
      try {
        parseBuildDefinition({ version: 1, jobs: [{ type: 'wait' }], extra: 1 });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(DefinitionError);
    expect(error).toBeInstanceOf(Error);
    expect((error as DefinitionError).errors).toEqual(['#extra: unknown property', '#jobs[0].name: required']);
    expect((error as DefinitionError).name).toBe('DefinitionError');
    expect((error as DefinitionError).message).toBe(
      'Invalid job definition (2 errors):\n#extra: unknown property\n#jobs[0].name: required',
    );
  });

  it('does not let a "__proto__" property slip through', () => {
    expect(validateBuildDefinition('{"version":1,"jobs":[],"__proto__":{}}')).toEqual({
      ok: false,
      errors: ['#__proto__: unknown property'],
    });
  });

  it('rejects an options.file outside the repository', () => {
    expect(() => validateBuildDefinition(seed, { file: '../infrabox.json' })).toThrow(RangeError);
    expect(() => validateBuildDefinition(seed, { file: '/abs/infrabox.json' })).toThrow(RangeError);
  });
});

describe('validateBuildDefinition', () => {
  it('returns the definition when valid', () => {
    const result = validateBuildDefinition(seed);
    expect(result.ok && result.definition.jobs).toHaveLength(1);
  });

  it('returns errors instead of throwing', () => {
    expect(validateBuildDefinition('nope')).toEqual({ ok: false, errors: ["#: invalid JSON: unexpected character 'o' at line 1 column 2"] });
  });
});
