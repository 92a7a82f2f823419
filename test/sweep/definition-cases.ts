import { deeplyNestedJson, SweepRandom } from './sweep-random';

/** One malformed infrabox.json: the value (or JSON text) and the error line the validator must give. */
export interface DefinitionCase {
  label: string;
  /** A parsed value, or JSON text (a string), as `validateBuildDefinition` takes it. */
  input: unknown;
  /** At least one `#path: reason` line must match. */
  expectError: RegExp;
  /** The input as JSON text, where JSON.stringify cannot make it (10,000 levels deep). */
  text?: string;
}

export const TEN_MB = 10 * 1024 * 1024;

type Job = Record<string, unknown>;

function validJobs(random: SweepRandom): Job[] {
  const count = random.int(2, 4);
  const jobs: Job[] = [{ type: 'docker-image', name: 'build', image: 'alpine:3', command: ['true'] }];
  for (let i = 1; i < count; i++) {
    jobs.push(random.chance(0.5) ? { type: 'wait', name: `job${i}`, depends_on: [jobs[i - 1].name] } : { type: 'docker-image', name: `job${i}`, image: 'alpine:3', depends_on: [{ job: jobs[i - 1].name, on: ['finished'] }] });
  }
  return jobs;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every mutation makes the definition invalid in one known way. */
const MUTATIONS: Array<(random: SweepRandom) => Omit<DefinitionCase, 'label'> & { kind: string }> = [
  (r) => ({ kind: 'root of a wrong type', input: r.wrongValue(['object', 'string']), expectError: /^#: expected an object/ }),
  (r) => ({ kind: 'version of a wrong type', input: { version: r.wrongValue(['number']), jobs: validJobs(r) }, expectError: /^#version: / }),
  (r) => ({ kind: 'version other than 1', input: { version: r.pick([0, 2, -1, 99]), jobs: validJobs(r) }, expectError: /^#version: must be 1/ }),
  (r) => ({ kind: 'version missing', input: { jobs: validJobs(r) }, expectError: /^#version: required/ }),
  (r) => ({ kind: 'jobs of a wrong type', input: { version: 1, jobs: r.wrongValue(['array']) }, expectError: /^#jobs: expected an array/ }),
  (r) => {
    const key = r.pick([r.word(), 'Jobs', 'versions', '__proto__', 'constructor', 'a b', '']);
    return { kind: 'unknown root property', input: JSON.parse(`{"version":1,"jobs":[],${JSON.stringify(key)}:1}`), expectError: /^#.*: unknown property$/ };
  },
  (r) => {
    const jobs = validJobs(r);
    const i = r.int(0, jobs.length - 1);
    jobs[i] = { ...jobs[i], [`x${r.word()}`]: r.wrongValue() };
    return { kind: 'unknown job property', input: { version: 1, jobs }, expectError: new RegExp(`^#jobs\\[${i}\\]\\.x\\w+: unknown property$`) };
  },
  (r) => {
    const jobs = validJobs(r);
    const i = r.int(0, jobs.length - 1);
    jobs[i] = { ...jobs[i], type: r.pick(['docker_image', 'shell', '', 'Docker', r.word()]) };
    return { kind: 'unknown job type', input: { version: 1, jobs }, expectError: new RegExp(`^#jobs\\[${i}\\]\\.type: '.*' is not one of docker-image, docker, `) };
  },
  (r) => {
    const jobs = validJobs(r);
    const i = r.int(0, jobs.length - 1);
    jobs[i] = { ...jobs[i], name: r.wrongValue(['string']) };
    return { kind: 'job name of a wrong type', input: { version: 1, jobs }, expectError: new RegExp(`^#jobs\\[${i}\\]\\.name: expected a string`) };
  },
  (r) => {
    const jobs = validJobs(r);
    const i = r.int(0, jobs.length - 1);
    const name = r.pick(['', 'a b', 'ä', '../x', 'x/y', 'a\u0000b', 'x'.repeat(201), '\ufffd\ufffd']);
    jobs[i] = { ...jobs[i], name };
    return { kind: 'job name with bad characters', input: { version: 1, jobs }, expectError: new RegExp(`^#jobs\\[${i}\\]\\.name: must match`) };
  },
  (r) => {
    const jobs = validJobs(r);
    jobs[1] = { ...jobs[1], name: 'n'.repeat(TEN_MB) };
    return { kind: '10 MB job name', input: { version: 1, jobs }, expectError: /^#jobs\[1\]\.name: must match/ };
  },
  (r) => {
    const jobs = validJobs(r);
    jobs[1] = { ...jobs[1], depends_on: ['d'.repeat(TEN_MB)] };
    return { kind: '10 MB depends_on name', input: { version: 1, jobs }, expectError: /^#jobs\[1\]\.depends_on: Job '.*' not found$/ };
  },
  (r) => ({ kind: '10 MB unknown property', input: { version: 1, jobs: validJobs(r), ['k'.repeat(TEN_MB)]: 1 }, expectError: /^#.*: unknown property$/ }),
  (r) => {
    const jobs = validJobs(r);
    jobs.push({ ...jobs[r.int(0, jobs.length - 1)] });
    return { kind: 'duplicate job name', input: { version: 1, jobs }, expectError: new RegExp(`^#jobs\\[${jobs.length - 1}\\]\\.name: Job name '\\w+' already defined$`) };
  },
  (r) => {
    const jobs = validJobs(r);
    const i = r.int(0, jobs.length - 1);
    const missing = `missing${r.word(4)}`;
    jobs[i] = { ...jobs[i], depends_on: [missing] };
    return { kind: 'depends_on an unknown job', input: { version: 1, jobs }, expectError: new RegExp(`^#jobs\\[${i}\\]\\.depends_on: Job '${missing}' not found$`) };
  },
  (r) => {
    const size = r.int(2, 6);
    const jobs: Job[] = Array.from({ length: size }, (_, i) => ({ type: 'wait', name: `c${i}`, depends_on: [`c${(i + 1) % size}`] }));
    return { kind: `depends_on cycle of ${size}`, input: { version: 1, jobs }, expectError: /^#jobs: dependency cycle c\d( -> c\d)+$/ };
  },
  (r) => {
    const jobs = validJobs(r);
    const i = r.int(0, jobs.length - 1);
    jobs[i] = { ...jobs[i], depends_on: [jobs[i].name] };
    return { kind: 'depends on itself', input: { version: 1, jobs }, expectError: new RegExp(`^#jobs\\[${i}\\]\\.depends_on: Job '\\w+' depends on itself$`) };
  },
  (r) => {
    const jobs = validJobs(r);
    jobs[1] = { ...jobs[1], depends_on: r.wrongValue(['array']) };
    return { kind: 'depends_on of a wrong type', input: { version: 1, jobs }, expectError: /^#jobs\[1\]\.depends_on: expected an array/ };
  },
  (r) => {
    const jobs = validJobs(r);
    const bad = r.pick([{ job: 'build', on: ['sometimes'] }, { job: 'build', on: [] }, { job: 'build' }, { on: ['finished'] }, { job: 'build', on: ['error', 'error'] }, { job: 3, on: ['finished'] }, 5, null]);
    jobs[1] = { ...jobs[1], depends_on: [bad] };
    return { kind: 'malformed dependency', input: { version: 1, jobs }, expectError: /^#jobs\[1\]\.depends_on\[0\]/ };
  },
  (r) => {
    const jobs = validJobs(r);
    const i = r.int(0, jobs.length - 1);
    const cluster = r.pick<unknown>([{ selector: [] }, { selector: [''] }, { selector: 'GCP' }, { selector: [1] }, {}, { selector: ['GCP'], prefer: '' }, { selector: ['GCP'], region: 'x' }, 'GCP', [], null]);
    jobs[i] = { ...jobs[i], cluster };
    return { kind: 'bad cluster selector', input: { version: 1, jobs }, expectError: new RegExp(`^#jobs\\[${i}\\]\\.cluster`) };
  },
  (r) => {
    const jobs = validJobs(r);
    jobs[0] = { ...jobs[0], timeout: r.pick([0, -5, 1.5, '60', null, 1e400]) };
    return { kind: 'bad timeout', input: { version: 1, jobs }, expectError: /^#jobs\[0\]\.timeout: / };
  },
  (r) => {
    const jobs = validJobs(r);
    jobs[0] = { ...jobs[0], resources: r.pick<unknown>([{ limits: { cpu: 'x', memory: 1024 } }, { limits: { cpu: 1, memory: 1 } }, { limits: { cpu: 0, memory: 1024 } }, { limits: {} }, {}, [], 'big']) };
    return { kind: 'bad resources', input: { version: 1, jobs }, expectError: /^#jobs\[0\]\.resources/ };
  },
  (r) => {
    const jobs = validJobs(r);
    const environment = r.pick<unknown>([[], 'A=1', { '1A': 'x' }, { A: 5 }, { A: { $secret: '' } }, { A: { $vault: 'v' } }, { 'A B': 'x' }, { A: null }]);
    jobs[0] = { ...jobs[0], environment };
    return { kind: 'bad environment', input: { version: 1, jobs }, expectError: /^#jobs\[0\]\.environment/ };
  },
  (r) => {
    const jobs = validJobs(r);
    const deep = deeplyNestedJson(10_000, r.pick(['array', 'object'] as const));
    jobs[0] = { ...jobs[0], environment: { DEEP: '@DEEP@' } };
    const text = JSON.stringify({ version: 1, jobs }).replace('"@DEEP@"', deep);
    return { kind: '10,000 levels nested in a field', input: JSON.parse(text), text, expectError: /^#jobs\[0\]\.environment\.DEEP: expected a string/ };
  },
  (r) => {
    const text = deeplyNestedJson(10_000, r.pick(['array', 'object'] as const));
    return { kind: '10,000 levels nested as the document', input: JSON.parse(text), text, expectError: /^#(: expected an object|a: unknown property)/ };
  },
  (r) => ({ kind: '10,000 levels nested in JSON text', input: `{"version":1,"jobs":${deeplyNestedJson(10_000)}}`, expectError: /^#: invalid JSON: nesting deeper than/ }),
  (r) => {
    const text = JSON.stringify({ version: 1, jobs: validJobs(r) });
    return { kind: 'truncated JSON text', input: text.slice(0, r.int(0, text.length - 1)), expectError: /^#: invalid JSON: .* at line \d+ column \d+$/ };
  },
  (r) => {
    // Invalid UTF-8 in a job name, decoded as a server decodes it (U+FFFD for each bad byte).
    const bytes = Buffer.concat([Buffer.from('{"version":1,"jobs":[{"type":"wait","name":"a'), r.pick([Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80])]), Buffer.from('b"}]}')]);
    return { kind: 'invalid UTF-8 in a name', input: bytes.toString('utf8'), expectError: /^#jobs\[0\]\.name: must match/ };
  },
  (r) => {
    const jobs = validJobs(r);
    jobs.push({ type: 'workflow', name: 'wf', infrabox_file: r.pick(['../../etc/passwd', '/abs/infrabox.json', 'sub/infrabox.json', 'a\u0000b']) });
    return { kind: 'workflow include (no loader, or a path out)', input: { version: 1, jobs }, expectError: new RegExp(`^#jobs\\[${jobs.length - 1}\\]\\.infrabox_file: `) };
  },
  (r) => {
    const jobs = validJobs(r);
    const i = r.int(0, jobs.length - 1);
    jobs[i] = r.wrongValue(['object']) as Job;
    return { kind: 'job of a wrong type', input: { version: 1, jobs }, expectError: new RegExp(`^#jobs\\[${i}\\]: expected an object`) };
  },
  (r) => {
    const jobs = validJobs(r);
    jobs[0] = { ...jobs[0], command: r.pick<unknown>(['true', [1], [null], {}, [['x']]]) };
    return { kind: 'bad command', input: { version: 1, jobs }, expectError: /^#jobs\[0\]\.command/ };
  },
];

/** `count` malformed definitions; the big and deep ones (slow to build) come at most a few times. */
export function definitionCases(random: SweepRandom, count: number): DefinitionCase[] {
  return random.cases(MUTATIONS, count, /10 MB|10,000/, 12).map((made, index) => ({
    label: `definition #${index} (${made.kind})`,
    input: made.input,
    text: made.text,
    expectError: made.expectError,
  }));
}

export { escape as escapeRegExp };
