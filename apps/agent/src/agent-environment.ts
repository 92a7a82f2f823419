import { readFileSync } from 'node:fs';
import { CommandFailure, EXIT_USAGE } from '@infrabox/toolkit';

/**
 * The single place in the agent that reads `process.env`: what the Kubernetes executor gives a
 * job pod's data steps (apps/scheduler/src/kubernetes/job-manifest.builder.ts).
 */
export interface AgentEnvironment {
  /** `INFRABOX_API`: the API of the job's cluster. */
  readonly api?: string;
  /** `INFRABOX_TOKEN`, else the content of the file `INFRABOX_TOKEN_FILE` names (the mounted job token Secret). */
  readonly token?: string;
}

export function readAgentEnvironment(env: NodeJS.ProcessEnv = process.env): AgentEnvironment {
  const file = nonEmpty(env.INFRABOX_TOKEN_FILE);
  return { api: nonEmpty(env.INFRABOX_API), token: nonEmpty(env.INFRABOX_TOKEN) ?? (file === undefined ? undefined : tokenFromFile(file)) };
}

function tokenFromFile(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new CommandFailure(`INFRABOX_TOKEN_FILE: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, EXIT_USAGE);
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
