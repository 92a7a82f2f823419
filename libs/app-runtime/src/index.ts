export { runApp } from './run-app';
export type { AppDefinition } from './run-app';
export { PeriodicTask } from './periodic-task';
export { LeaderDuty, LeaderDutyHost } from './leader-duty';
export type { LeaderDutyOptions } from './leader-duty';
