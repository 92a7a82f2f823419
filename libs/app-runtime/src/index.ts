export { runApp } from './run-app';
export type { AppDefinition } from './run-app';
