import type { JobDefinition } from '@infrabox/job-definition';

/** A job that cannot be set up as written (an executor turns it into the job's `error` message). */
export class SandboxError extends Error {}

/**
 * The environment a job's command sees, the same for every executor: the job's own
 * `environment` (plain values; secrets are not resolved yet), then `infrabox` (the INFRABOX_*
 * variables), which win. Nothing of the scheduler's own environment.
 */
export function jobEnvironment(name: string, definition: JobDefinition, infrabox: Record<string, string>): Record<string, string> {
  const own = 'environment' in definition ? definition.environment : {};
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(own)) {
    if (key in infrabox) continue;
    if (typeof value !== 'string') throw new SandboxError(`job '${name}': environment ${key} refers to a secret, which cannot be passed to a job yet`);
    env[key] = value;
  }
  return { ...env, ...infrabox };
}
