import { spawn } from 'node:child_process';
import { Injectable } from '@nestjs/common';
import { jobEnvironment, sandboxEnvironment, SandboxError, SandboxFolders } from '@infrabox/job-sandbox';
import type { Job } from '@infrabox/jobs';
import { HostSandbox } from '../job-files/host-sandbox.service';
import { ExecutionContext, ExecutionResult, JobExecutor } from './job-executor';

/** How long a job gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 5_000;

/**
 * Runs a job's `command` as a local process of the scheduler's user, in the job's folders on
 * this host — no image, no isolation: only as an explicit `scheduler.executor: process`, or
 * where no container engine is reachable. No shell; the process leads its own process group so
 * that a kill reaches everything it started.
 */
@Injectable()
export class ProcessExecutor implements JobExecutor {
  constructor(private readonly sandbox: HostSandbox) {}

  run(job: Job, context: ExecutionContext): Promise<ExecutionResult> {
    const definition = job.definition;
    const command = 'command' in definition ? definition.command : undefined;
    if (!command || command.length === 0) {
      return Promise.resolve({ exitCode: null, error: `job '${job.name}' has no command: the process executor runs a job's "command"` });
    }
    let env: Record<string, string>;
    try {
      env = jobEnvironment(job.name, definition, context.env);
    } catch (error) {
      if (error instanceof SandboxError) return Promise.resolve({ exitCode: null, error: error.message });
      throw error;
    }
    return this.sandbox.run(job, context, (folders) => runProcess(command, folders, { ...env, ...sandboxEnvironment(folders) }, context));
  }
}

function runProcess(command: string[], folders: SandboxFolders, env: Record<string, string>, context: ExecutionContext): Promise<ExecutionResult> {
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), {
      cwd: folders.context,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: folders.context, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let killTimer: NodeJS.Timeout | null = null;
    const kill = () => {
      signalGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    context.signal.addEventListener('abort', kill, { once: true });
    if (context.signal.aborted) kill();
    child.stdout.on('data', (chunk: Buffer) => context.onOutput(chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => context.onOutput(chunk.toString('utf8')));
    child.on('error', (error) => {
      context.signal.removeEventListener('abort', kill);
      resolve({ exitCode: null, error: `cannot run ${command[0]}: ${error.message}` });
    });
    child.on('close', (code) => {
      if (killTimer) clearTimeout(killTimer);
      context.signal.removeEventListener('abort', kill);
      resolve({ exitCode: code });
    });
  });
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
