import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runAgent, runCli } from '../support/cli';
import { freePort } from '../support/installation';

const JOB = '0b9f3c52-6f0e-4d55-9a43-0d5c2f7f5b11';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** The in-pod agent's `fetch-inputs|upload-output` (a job pod's steps): what they refuse, and what needs no API. */
describe('the in-pod agent (apps/agent)', () => {
  let closedApi: string;
  const env = () => ({ INFRABOX_API: closedApi, INFRABOX_TOKEN: 'a-job-token' });

  beforeAll(async () => {
    closedApi = `http://127.0.0.1:${await freePort()}`;
  });

  it('lists its steps in its help; the CLI has no job command any more', async () => {
    const help = await runAgent(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^\s+fetch-inputs\b/m);
    expect(help.stdout).toMatch(/^\s+upload-output\b/m);
    expect(await runAgent([])).toMatchObject({ code: 2 });
    const cliHelp = await runCli(['--help']);
    expect(cliHelp.code).toBe(0);
    expect(cliHelp.stdout).not.toMatch(/^\s+job\b/m);
    expect(await runCli(['job', 'fetch-inputs', JOB], { env: env() })).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown command 'job'") });
  });

  it('refuses a job id that is not a UUID, a malformed --parent, and a missing token, as usage errors', async () => {
    expect(await runAgent(['fetch-inputs', '../etc'], { env: env() })).toMatchObject({ code: 2, stderr: "job id: expected a UUID, got '../etc'\n" });
    const parent = await runAgent(['fetch-inputs', JOB, '--parent', 'lint'], { env: env() });
    expect(parent.code).toBe(2);
    expect(parent.stderr).toContain('expected <parent job id>=<parent name> (a name without "/")');
    const escape = await runAgent(['fetch-inputs', JOB, '--parent', `${JOB}=../x`], { env: env() });
    expect(escape.code).toBe(2);
    expect(await runAgent(['upload-output', JOB], { env: { INFRABOX_API: closedApi } })).toMatchObject({
      code: 2,
      stderr: '$INFRABOX_TOKEN must hold the job token\n',
    });
    // A pod's data steps read the token from the mounted Secret: a file that is not there is named.
    expect(await runAgent(['upload-output', JOB], { env: { INFRABOX_API: closedApi, INFRABOX_TOKEN: undefined, INFRABOX_TOKEN_FILE: '/nonexistent/token' } })).toMatchObject({
      code: 2,
      stderr: 'INFRABOX_TOKEN_FILE: cannot read /nonexistent/token: ENOENT\n',
    });
  });

  it('says in one line that the API cannot be reached', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'infrabox-job-'));
    const fetched = await runAgent(['fetch-inputs', JOB, '--dir', dir, '--source'], { env: env() });
    expect(fetched).toMatchObject({ code: 1, stderr: `cannot reach the InfraBox API at ${closedApi}: ECONNREFUSED\n` });
  });

  it('reports an empty output without uploading anything, once the exit file exists', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'infrabox-job-'));
    await mkdir(path.join(dir, 'output'));
    const exitFile = path.join(dir, '.exit');
    const result = path.join(dir, 'termination-log');
    const upload = runAgent(['upload-output', JOB, '--dir', dir, '--wait-for', exitFile, '--result', result], { env: env() });
    let finished = false;
    void upload.then(() => (finished = true));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(finished).toBe(false); // still waiting for the job's command to end
    await writeFile(exitFile, '0\n');
    const uploaded = await upload;
    const report = { stored: false, size: 0, sha256: EMPTY_SHA256 };
    expect(uploaded).toMatchObject({ code: 0, stdout: `${JSON.stringify(report)}\n` });
    expect(JSON.parse(await readFile(result, 'utf8'))).toEqual(report);
  });
});
