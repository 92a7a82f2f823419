import path from 'node:path';

/** `dist/` of the build this CLI runs from (this file is `dist/apps/cli/src/cli-paths.js`). */
export const DIST_ROOT = path.resolve(__dirname, '../../..');

/** The repository (or installed package) root: the folder that holds dist/ and examples/. */
export const PACKAGE_ROOT = path.resolve(DIST_ROOT, '..');

/** Compiled entry point of an app, e.g. `dist/apps/api/src/main.js`. */
export function appEntryPoint(app: string): string {
  return path.join(DIST_ROOT, 'apps', app, 'src', 'main.js');
}

/** The configurations `infrabox up` starts when given none. */
export const DEFAULT_LOCAL_CONFIG_DIR = path.join(PACKAGE_ROOT, 'examples', 'local');

/** The `infrabox` executable of this package. */
export const CLI_BIN = path.join(PACKAGE_ROOT, 'bin', 'infrabox');

/** The example project `npm start` suggests pushing: jobs on both workers, an output passed between them. */
export const EXAMPLE_PROJECT = path.join(PACKAGE_ROOT, 'examples', 'multi-cluster');

/** Where `infrabox up` writes local.json, relative to the working directory. */
export const DEFAULT_STATE_DIR = '.infrabox';

/** A path as shown to the user: relative when inside the working directory, else absolute. */
export function displayPath(file: string): string {
  const absolute = path.resolve(file);
  const relative = path.relative(process.cwd(), absolute);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? absolute : relative;
}
