import { SweepRandom } from './sweep-random';

/** One malformed install config file: its bytes and the field its problem line must name. */
export interface ConfigCase {
  label: string;
  bytes: Buffer;
  /** At least one problem line (`field: reason`) must match. */
  expectProblem: RegExp;
}

const MB = 1024 * 1024;

interface Sections {
  host: string;
  cluster: string;
  storage: string;
  database: string;
  extra: string;
}

function base(random: SweepRandom): Sections {
  return {
    host: `host: http://127.0.0.1:${random.int(1024, 65535)}\n`,
    cluster: `cluster:\n  name: worker-${random.word(4).toLowerCase()}\n  labels: my-worker,GCP\n`,
    storage: `storage:\n  local:\n    enabled: true\n    path: /tmp/infrabox-sweep-never-used\n`,
    database: '',
    extra: '',
  };
}

const render = (s: Sections) => Buffer.from(s.host + s.cluster + s.storage + s.database + s.extra);

const MUTATIONS: Array<(r: SweepRandom) => { kind: string; bytes: Buffer; expectProblem: RegExp }> = [
  (r) => {
    const s = base(r);
    s.host = `host: ${r.pick(['', '[]', '{}', '12', 'true', 'http://127.0.0.1:notaport', 'http://127.0.0.1:99999', 'ftp://x', 'http://', '"http://a b"', 'null'])}\n`;
    return { kind: 'bad host', bytes: render(s), expectProblem: /^host: / };
  },
  (r) => {
    const s = base(r);
    s.host = '';
    return { kind: 'missing host', bytes: render(s), expectProblem: /^host: required$/ };
  },
  (r) => {
    const s = base(r);
    s.cluster = `cluster:\n  name: ${r.pick(['Worker_1', '"-x"', '"x-"', "''", '[a]', '12', 'a.b', '"a b"', 'x'.repeat(64), '"ä"'])}\n`;
    return { kind: 'bad cluster name', bytes: render(s), expectProblem: /^cluster\.name: / };
  },
  (r) => {
    const s = base(r);
    s.cluster = `cluster:\n  name: ${'w'.repeat(10 * MB)}\n`;
    return { kind: '10 MB cluster name', bytes: render(s), expectProblem: /^cluster\.name: / };
  },
  (r) => {
    const s = base(r);
    const big = 'L'.repeat(10 * MB);
    s.cluster = `cluster:\n  name: w\n  labels: ${big},${big}\n`;
    return { kind: '10 MB duplicate labels', bytes: render(s), expectProblem: /^cluster\.labels: duplicate label/ };
  },
  (r) => {
    const s = base(r);
    s.cluster = `cluster:\n  name: w\n  labels: ${r.pick(['GCP,GCP', '[1, 2]', '{a: 1}', '[[x]]', 'true', '[GCP, GCP]'])}\n`;
    return { kind: 'bad labels', bytes: render(s), expectProblem: /^cluster\.labels/ };
  },
  (r) => {
    const s = base(r);
    const field = r.pick(['clster', 'hosts', 'Storage', 'databse', r.word().toLowerCase() + 'x']);
    s.extra = `${field}: ${r.pick(['1', 'x', '[]', '{}'])}\n`;
    return { kind: 'unknown top-level field', bytes: render(s), expectProblem: new RegExp(`^${field}: unknown field$`) };
  },
  (r) => {
    const s = base(r);
    s.extra = `${'u'.repeat(10 * MB)}: 1\n`;
    return { kind: '10 MB unknown field name', bytes: render(s), expectProblem: /^(u+|.*): unknown field$|^\(yaml\): / };
  },
  (r) => {
    const s = base(r);
    s.storage = `storage:\n  local:\n    enabled: true\n    path: /tmp/x\n    ${r.pick(['pathh', 'mode', 'size'])}: 1\n`;
    return { kind: 'unknown nested field', bytes: render(s), expectProblem: /^storage\.local\.\w+: unknown field$/ };
  },
  (r) => {
    const s = base(r);
    s.storage = `storage:\n  s3:\n    enabled: true\n    bucket: b\n  gcs:\n    enabled: true\n    bucket: g\n${r.chance(0.5) ? '  local:\n    enabled: true\n    path: /tmp/x\n' : ''}`;
    return { kind: 'two storage backends', bytes: render(s), expectProblem: /^storage: exactly one backend must be enabled, found/ };
  },
  (r) => {
    const s = base(r);
    s.storage = `storage:\n  ${r.pick(['s3', 'gcs', 'local'])}:\n    enabled: true\n`;
    return { kind: 'enabled backend without its fields', bytes: render(s), expectProblem: /^storage\.(s3\.bucket|gcs\.bucket|local\.path): required when enabled$/ };
  },
  (r) => {
    const s = base(r);
    s.storage = `storage:\n  local:\n    enabled: ${r.pick(['"yes"', '1', '[]', '{}', 'null'])}\n    path: /tmp/x\n`;
    return { kind: 'enabled of a wrong type', bytes: render(s), expectProblem: /^storage\.local\.enabled: / };
  },
  (r) => {
    const s = base(r);
    s.database = `database:\n  postgres:\n    enabled: true\n    db: infrabox\n    host: db\n    username: u\n    port: ${r.pick(['0', '-1', '65536', 'abc', '1.5', '[]'])}\n`;
    return { kind: 'bad database port', bytes: render(s), expectProblem: /^database\.postgres\.port: / };
  },
  (r) => {
    const s = base(r);
    s.database = `database:\n  postgres:\n    enabled: true\n    password: ${r.pick(['5', '[]', '{a: b}', 'true'])}\n`;
    return { kind: 'postgres without its fields, password of a wrong type', bytes: render(s), expectProblem: /^database\.postgres\.(db|host|username|password): / };
  },
  (r) => {
    const text = render(base(r)).toString();
    return { kind: 'truncated YAML', bytes: Buffer.from(`${text.slice(0, r.int(1, text.length - 2))}\n${r.pick(['"unclosed', "'unclosed", '[unclosed', '{unclosed'])}`), expectProblem: /^(\(yaml\): syntax error|\(root\): expected a mapping|host: |cluster|storage)/ };
  },
  (r) => ({ kind: 'YAML syntax error', bytes: Buffer.from(r.pick(['host: [\n', 'host: "x\n', 'a: b: c\n', 'host: x\nhost: y\n', 'host: {a\n', '\thost: x\n'])), expectProblem: /^\(yaml\): / }),
  (r) => ({ kind: 'empty key', bytes: Buffer.from(`host: http://127.0.0.1:1\n${r.pick(['', '""', "''"])}: x\n`), expectProblem: /^"": unknown field$/ }),
  (r) => ({ kind: 'document of a wrong type', bytes: Buffer.from(r.pick(['- a\n- b\n', '42\n', '"text"\n', 'true\n', '[host]\n'])), expectProblem: /^\(root\): expected a mapping/ }),
  (r) => {
    const depth = 10_000;
    const flow = r.chance(0.5);
    const nested = flow ? '['.repeat(depth) + ']'.repeat(depth) : Array.from({ length: 200 }, (_, i) => `${'  '.repeat(i)}a${i}:`).join('\n') + ' 1';
    return { kind: flow ? '10,000 levels of flow nesting' : 'deep block nesting', bytes: Buffer.from(`host: ${flow ? nested : 'http://127.0.0.1:1'}\n${flow ? '' : `extra:\n  ${nested.replace(/\n/g, '\n  ')}\n`}`), expectProblem: /^(host|extra|\(yaml\)): / };
  },
  (r) => {
    // "Billion laughs": aliases that multiply.
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    return { kind: 'alias bomb', bytes: Buffer.from(`host: http://127.0.0.1:1\n${lines.join('\n')}\n`), expectProblem: /^(\(yaml\)|a0): / };
  },
  (r) => {
    const s = base(r);
    s.cluster = Buffer.concat([Buffer.from('cluster:\n  name: w'), r.pick([Buffer.from([0xff]), Buffer.from([0xc3, 0x28]), Buffer.from([0xed, 0xa0, 0x80])]), Buffer.from('x\n')]).toString('latin1');
    const bytes = Buffer.concat([Buffer.from(s.host), Buffer.from(s.cluster, 'latin1'), Buffer.from(s.storage)]);
    return { kind: 'invalid UTF-8 in a value', bytes, expectProblem: /^(cluster\.name|\(file\)|\(yaml\)): / };
  },
  (r) => {
    const s = base(r);
    s.cluster = `cluster:\n  name: "w\\0x"\n`;
    return { kind: 'NUL in a value', bytes: render(s), expectProblem: /^cluster\.name: / };
  },
  (r) => ({ kind: 'binary garbage', bytes: Buffer.concat([Buffer.from('host: http://127.0.0.1:1\n'), Buffer.from([0x00, 0x7a]), r.bytes(r.int(1, 400)), Buffer.from('\n')]), expectProblem: /^(host|\(yaml\)|\(root\)|[^:]+): / }),
  (r) => {
    const s = base(r);
    s.extra = `api:\n  port: ${r.pick(['0', '70000', 'x', '[]'])}\n`;
    return { kind: 'bad api port', bytes: render(s), expectProblem: /^api\.port: / };
  },
];

export function configCases(random: SweepRandom, count: number): ConfigCase[] {
  return random.cases(MUTATIONS, count, /10 MB|10,000|bomb/, 8).map((made, index) => ({
    label: `config #${index} (${made.kind})`,
    bytes: made.bytes,
    expectProblem: made.expectProblem,
  }));
}
