// The test run's container engine: Podman (Debian's, runc runtime; stack-notes.md) serving the
// Docker Engine API on a socket of this run, and the base images the tests' jobs use, built
// offline — no image can be pulled here — from Debian's busybox-static: a folder with
// bin/busybox and a link per applet, imported and tagged with the names the jobs use.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, symlink, copyFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The names tests and examples run: each is the busybox rootfs. */
export const TEST_IMAGES = ['docker.io/library/busybox:latest', 'docker.io/library/alpine:3.20'];
const BUSYBOX = '/bin/busybox';
/** The imported rootfs; bump the version when what is imported changes. */
const BASE = 'localhost/infrabox-test-base:2';

/** Imports the base image once, and tags it with every name in TEST_IMAGES (again each run: a tag is cheap). */
export async function ensureTestImages() {
  if (spawnSync('podman', ['image', 'exists', BASE]).status !== 0) await importBase();
  for (const name of TEST_IMAGES) execFileSync('podman', ['tag', BASE, name]);
}

async function importBase() {
  const root = await mkdtemp(path.join(tmpdir(), 'infrabox-test-rootfs-'));
  try {
    await mkdir(path.join(root, 'bin'), { recursive: true });
    await copyFile(BUSYBOX, path.join(root, 'bin', 'busybox'));
    const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
    await Promise.all(applets.map((applet) => symlink('busybox', path.join(root, 'bin', applet))));
    for (const dir of ['etc', 'tmp', 'root', 'proc', 'sys', 'dev']) await mkdir(path.join(root, dir), { recursive: true });
    await writeFile(path.join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
    await writeFile(path.join(root, 'etc', 'group'), 'root:x:0:\nnobody:x:65534:\n');
    await writeFile(path.join(root, 'etc', 'os-release'), 'NAME="InfraBox test image (busybox)"\nID=infrabox-test\n');
    const tar = `${root}.tar`;
    execFileSync('tar', ['-C', root, '-cf', tar, '.']);
    execFileSync('podman', ['import', '--change', 'ENV PATH=/bin', '--change', 'CMD ["/bin/sh"]', tar, BASE], { stdio: 'ignore' });
    await rm(tar, { force: true });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
