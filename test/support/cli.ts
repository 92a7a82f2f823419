import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import path from 'node:path';

/** The `infrabox` executable (it loads dist/apps/cli/src/main.js). */
export const CLI = path.resolve(__dirname, '../../bin/infrabox');

/** The in-pod agent, as a job pod's helper containers start it (`node dist/apps/agent/src/main.js`). */
export const AGENT = path.resolve(__dirname, '../../dist/apps/agent/src/main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  /** Added to the environment; `undefined` removes a variable. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Environment for CLI runs: the test's own, without the variables the CLI reads (so the outer
 * shell cannot change results) and with no saved `infrabox login`, plus `extra`.
 */
export function cliEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, INFRABOX_API: undefined, INFRABOX_TOKEN: undefined, INFRABOX_TOKEN_FILE: undefined, INFRABOX_CREDENTIALS: '/nonexistent/infrabox-credentials.json', ...extra };
}

/** Runs `infrabox ARGS...` to completion. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return runNode(CLI, args, options);
}

/** Runs the in-pod agent's `ARGS...` (`fetch-inputs …`, `upload-output …`) to completion. */
export function runAgent(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return runNode(AGENT, args, options);
}

function runNode(script: string, args: string[], options: CliOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: options.cwd,
      env: cliEnvironment(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}


export { freePort } from '../../bench/free-port';

/** True when a TCP connection to 127.0.0.1:`port` is accepted. */
export function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** True while a process with that pid exists. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
