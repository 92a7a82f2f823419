import path from 'node:path';

/**
 * The job sandbox: the folders every job sees, whichever executor runs it (process, container,
 * Kubernetes pod), and where they sit under one root. Inside a container or pod the root is
 * `/infrabox`; the process executor and the scheduler's host side use a folder per job.
 */
export const SANDBOX_ROOT = '/infrabox';

/** Folder names under the sandbox root. */
export const SANDBOX_LAYOUT = {
  /** The build's source; the command's working directory. */
  context: 'context',
  /** One folder per direct parent, `inputs/<parent name>`, holding that parent's output. */
  inputs: 'inputs',
  /** What the job writes here is stored as its output when it ends. */
  output: 'output',
  /** A scratch folder the job may fill (kept for the job's run only, for now). */
  cache: 'cache',
  /** Reports the job leaves for the UI: `upload/testresult`, `upload/markdown`, `upload/badge`, `upload/archive`. */
  upload: 'upload',
} as const;

export const UPLOAD_KINDS = ['testresult', 'markdown', 'badge', 'archive'] as const;

export type SandboxFolder = keyof typeof SANDBOX_LAYOUT;

/** A sandbox's folders under one root. */
export interface SandboxFolders {
  readonly root: string;
  readonly context: string;
  readonly inputs: string;
  readonly output: string;
  readonly cache: string;
  readonly upload: string;
}

/** The sandbox's folders under `root` (the job's view with the default root). */
export function sandboxFolders(root: string = SANDBOX_ROOT): SandboxFolders {
  const join = path.posix.join;
  return {
    root,
    context: join(root, SANDBOX_LAYOUT.context),
    inputs: join(root, SANDBOX_LAYOUT.inputs),
    output: join(root, SANDBOX_LAYOUT.output),
    cache: join(root, SANDBOX_LAYOUT.cache),
    upload: join(root, SANDBOX_LAYOUT.upload),
  };
}

/** The folders as a job inside a container or pod sees them. */
export const JOB_VIEW: SandboxFolders = Object.freeze(sandboxFolders(SANDBOX_ROOT));

/**
 * Where a parent's output lands: `inputs/<parent name>`; a job of an included workflow
 * (`sub/check`) lands in nested folders (`inputs/sub/check`), as its name reads.
 */
export function inputFolder(folders: SandboxFolders, parentName: string): string {
  const parts = parentName.split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..')) {
    throw new Error(`parent name ${JSON.stringify(parentName)}: not usable as a folder name`);
  }
  return path.join(folders.inputs, ...parts);
}

/** The INFRABOX_* variables that tell a job where its folders are, for the folders it sees. */
export function sandboxEnvironment(view: SandboxFolders): Record<string, string> {
  return { INFRABOX_OUTPUT: view.output, INFRABOX_INPUTS: view.inputs, INFRABOX_CACHE: view.cache, INFRABOX_UPLOAD: view.upload };
}
