import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { packDirectory } from '@infrabox/archive';
import { EMPTY_OUTPUT_SHA256, JOB_VIEW, SandboxStaging, sandboxEnvironment, sandboxFolders } from '@infrabox/job-sandbox';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('the job sandbox', () => {
  let root: string;
  beforeEach(async () => (root = await mkdtemp(path.join(tmpdir(), 'sandbox-'))));
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('has one layout, under /infrabox as the job sees it', () => {
    expect(JOB_VIEW).toEqual({
      root: '/infrabox',
      context: '/infrabox/context',
      inputs: '/infrabox/inputs',
      output: '/infrabox/output',
      cache: '/infrabox/cache',
      upload: '/infrabox/upload',
    });
    expect(sandboxEnvironment(JOB_VIEW)).toMatchObject({ INFRABOX_OUTPUT: '/infrabox/output', INFRABOX_INPUTS: '/infrabox/inputs' });
  });

  it('stages an input in, verified, and reports an empty output with the empty digest', async () => {
    const staging = new SandboxStaging(sandboxFolders(path.join(root, 'job')));
    await staging.create();
    const parentOut = path.join(root, 'parent');
    await staging.stageInput('none', null);
    await writeFile(path.join(await mkdtemp(parentOut), 'a.txt'), 'A');
    const dir = (await import('node:fs/promises')).readdir;
    const [only] = await dir(root).then((names) => names.filter((n) => n.startsWith('parent')));
    const bytes = await collect(packDirectory(path.join(root, only)).stream);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const { Readable: R } = await import('node:stream');
    await staging.stageInput('build', { open: async () => R.from([bytes]), sha256, size: bytes.length });
    expect(await readFile(path.join(staging.folders.inputs, 'build', 'a.txt'), 'utf8')).toBe('A');
    expect((await stat(path.join(staging.folders.inputs, 'none'))).isDirectory()).toBe(true);
    expect(await staging.stageOut(() => Promise.reject(new Error('not called')))).toEqual({ stored: false, size: 0, sha256: EMPTY_OUTPUT_SHA256 });
  });

  it('stores the output and refuses a store that answers other bytes than were sent', async () => {
    const staging = new SandboxStaging(sandboxFolders(path.join(root, 'job')));
    await staging.create();
    await writeFile(path.join(staging.folders.output, 'result'), 'ok');
    const report = await staging.stageOut(async (stream) => {
      const bytes = await collect(stream);
      return { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    });
    expect(report.stored).toBe(true);
    await expect(staging.stageOut(async (stream) => (await collect(stream), { size: 1, sha256: EMPTY_OUTPUT_SHA256 }))).rejects.toThrow(/stored as 1 bytes/);
    await staging.remove();
    await expect(stat(staging.folders.root)).rejects.toThrow();
  });

  it('refuses a parent name that is no folder name', async () => {
    const staging = new SandboxStaging(sandboxFolders(root));
    await expect(staging.stageInput('..', null)).rejects.toThrow(/not usable as a folder name/);
    await expect(staging.stageInput('sub/../../escape', null)).rejects.toThrow(/not usable as a folder name/);
  });
});

describe('dockerode', () => {
  it('loads under jest (CommonJS)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(typeof require('dockerode')).toBe('function');
  });
});
