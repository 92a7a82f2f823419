/** The states of a job, as the API shows them and the job table stores them. */
export const JOB_STATES = ['queued', 'scheduled', 'running', 'finished', 'failure', 'error', 'killed', 'skipped', 'unstable'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** The states a job ends in: it never leaves one of them. */
export const FINAL_STATES: readonly JobState[] = ['finished', 'failure', 'error', 'killed', 'skipped', 'unstable'];
export type FinalJobState = 'finished' | 'failure' | 'error' | 'killed' | 'skipped' | 'unstable';

/** Whether a job in `state` has ended (any text: the CLI asks about what an API answered). */
export function isFinal(state: string): state is FinalJobState {
  return (FINAL_STATES as readonly string[]).includes(state);
}
