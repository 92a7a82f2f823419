import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TestProcess } from '../support/processes';

const APPS = ['api', 'registry', 'scheduler', 'output-forwarder'];

async function configFile(text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'infrabox-config-'));
  const file = path.join(dir, 'config.yaml');
  await writeFile(file, text);
  return file;
}

describe('apps refuse a malformed install configuration', () => {
  it.each(APPS)('%s exits 2 with one line per problem, each naming its field', async (app) => {
    const file = await configFile(`host: http://127.0.0.1:notaport
cluster:
  name: Worker_1
  labels: GCP,GCP
database:
  postgres:
    enabled: true
    db: infrabox
    host: db.example
    username: u
    password: p
storage:
  s3:
    enabled: true
    bucket: b
  gcs:
    enabled: true
    bucket: g
clster: typo
`);
    const proc = new TestProcess(`apps/${app}/src/main.js`, ['--config', file]);
    expect(await proc.exited).toBe(2);
    const stderr = proc.stderr.join('');
    expect(stderr).toContain(`infrabox ${app}: Invalid install configuration ${file}:`);
    expect(stderr).toContain('storage: exactly one backend must be enabled, found s3 and gcs');
    expect(stderr).toMatch(/^ {2}- host: .+$/m);
    expect(stderr).toMatch(/^ {2}- cluster\.name: .+$/m);
    expect(stderr).toMatch(/^ {2}- cluster\.labels: duplicate label 'GCP'$/m);
    expect(stderr).toMatch(/^ {2}- clster: unknown field$/m);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('prints --help and exits 0', async () => {
    const proc = new TestProcess('apps/scheduler/src/main.js', ['--help']);
    expect(await proc.exited).toBe(0);
    expect(proc.lines.join('\n')).toContain('Usage: infrabox-scheduler [--config FILE]');
  });
});
