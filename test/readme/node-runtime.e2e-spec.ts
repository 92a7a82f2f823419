import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};

/** Issue 13, item 6: the project runs on Node.js 24 LTS, which its own files bring. */
describe('the Node.js runtime', () => {
  const major = Number(/^>=(\d+)$/.exec(pkg.engines.node)?.[1]);

  it('is 24 in engines, in the node package the project installs, and under these tests', () => {
    expect(major).toBe(24);
    expect(pkg.devDependencies.node).toMatch(/^24\./);
    expect(process.versions.node.split('.')[0]).toBe(String(major));
  });

  it('bin/infrabox started by an older node runs itself again on the project\'s Node.js 24', async () => {
    // The machine's own node (Debian's, 20 here), with a module preloaded into every Node process
    // (NODE_OPTIONS is inherited) that prints the version it runs on.
    const older = '/usr/bin/node';
    const probe = path.join(ROOT, 'test/readme/print-node-version.cjs');
    const { stdout } = await run(older, [path.join(ROOT, 'bin/infrabox'), '--version'], {
      env: { ...process.env, NODE_OPTIONS: `--require ${probe}` },
    });
    const versions = stdout.split('\n').filter((line) => line.startsWith('node-version ')).map((line) => line.slice(13));
    const olderVersion = (await run(older, ['--version'])).stdout.trim();
    if (Number(olderVersion.slice(1).split('.')[0]) < major) expect(versions).toEqual([olderVersion, `v${pkg.devDependencies.node}`]);
    else expect(versions).toEqual([olderVersion]);
    expect(stdout).toContain((JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });
});
