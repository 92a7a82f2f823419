import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../support/cli';

/** A temporary folder with the given files (paths relative to it, values JSON or text). */
async function repository(files: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'infrabox-validate-'));
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}

const build = { type: 'docker', name: 'build', docker_file: 'Dockerfile' };

describe('infrabox validate', () => {
  it('prints "valid" and exits 0 for ./infrabox.json with a workflow include', async () => {
    const cwd = await repository({
      'infrabox.json': { version: 1, jobs: [build, { type: 'workflow', name: 'tests', infrabox_file: 'ci/tests.json', depends_on: ['build'] }] },
      'ci/tests.json': { version: 1, jobs: [{ type: 'wait', name: 'unit' }] },
    });
    expect(await runCli(['validate'], { cwd })).toEqual({ code: 0, stdout: 'valid\n', stderr: '' });
  });

  it('resolves includes relative to the folder of the file it is given', async () => {
    const dir = await repository({
      'app/infrabox.json': { version: 1, jobs: [{ type: 'workflow', name: 'w', infrabox_file: './sub/w.json' }] },
      'app/sub/w.json': { version: 1, jobs: [{ type: 'wait', name: 'x' }] },
    });
    expect(await runCli(['validate', 'app/infrabox.json'], { cwd: dir })).toEqual({ code: 0, stdout: 'valid\n', stderr: '' });
    expect(await runCli(['validate', path.join(dir, 'app/infrabox.json')])).toMatchObject({ code: 0, stdout: 'valid\n' });
  });

  it('prints one "#path: reason" line per error on stdout and exits 1', async () => {
    const cwd = await repository({
      'infrabox.json': {
        version: 1,
        jobs: [
          { type: 'docker', name: 'build' },
          { type: 'workflow', name: 'tests', infrabox_file: 'ci/tests.json', depends_on: ['build'] },
          { type: 'workflow', name: 'more', infrabox_file: 'ci/missing.json' },
        ],
      },
      'ci/tests.json': { version: 1, jobs: [{ type: 'wait', name: 'unit', depends_on: ['nope'] }] },
    });
    const result = await runCli(['validate', 'infrabox.json'], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n')).toEqual([
      '#jobs[0].docker_file: required',
      "ci/tests.json#jobs[0].depends_on: Job 'nope' not found",
      '#jobs[2].infrabox_file: cannot load ci/missing.json: no such file',
      '',
    ]);
  });

  it('reports JSON syntax errors with their position', async () => {
    const cwd = await repository({ 'infrabox.json': '{"version": 1, "jobs": [\n' });
    const result = await runCli(['validate'], { cwd });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^#: invalid JSON: .+ at line \d+ column \d+\n$/);
  });

  it('says "infrabox.json: no such file" and exits 1 when there is nothing to validate', async () => {
    const cwd = await repository({});
    expect(await runCli(['validate'], { cwd })).toEqual({ code: 1, stdout: 'infrabox.json: no such file\n', stderr: '' });
    expect(await runCli(['validate', 'ci/other.json'], { cwd })).toEqual({ code: 1, stdout: 'ci/other.json: no such file\n', stderr: '' });
  });

  it('exits 2 on a usage error', async () => {
    const result = await runCli(['validate', 'a.json', 'b.json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('too many arguments');
  });
});

describe('infrabox --version and a closed stdout', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(await readFile(path.resolve(__dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(await runCli(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('--help into a reader that stops at once (| head -1) ends quietly, without EPIPE', async () => {
    const { spawn } = await import('node:child_process');
    const { CLI, cliEnvironment } = await import('../support/cli');
    const child = spawn(process.execPath, [CLI, '--help'], { env: cliEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before the help is written
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  });
});
