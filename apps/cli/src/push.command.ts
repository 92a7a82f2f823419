import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Command } from 'commander';
import { loadIgnoreFile, packDirectory } from '@infrabox/archive';
import { isFinal, type JobDto, ROUTES, type SourceUploadDto, TAR_CONTENT_TYPE } from '@infrabox/contract';
import { API_OPTION_HELP, apiClientFor, TOKEN_OPTION_HELP } from './api-options';
import { BuildWithJobs, isBuildWithJobs } from './build.view';
import { DEFAULT_STATE_DIR } from './cli-paths';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from './cli-error';
import type { CliContext } from './cli.context';
import { checkDefinitionFile } from './definition-file.reader';
import { InfraboxApiClient } from './infrabox-api.client';
import { fetchBuild } from './jobs.command';
import { readLocalState } from './local-state.store';
import { UploadProgress } from './upload.progress';

const FOLLOW_INTERVAL_MS = 500;
const DEFINITION_FILE = 'infrabox.json';

interface PushOptions {
  api?: string;
  project?: string;
  token?: string;
  follow?: boolean;
  json?: boolean;
}

/**
 * `infrabox push [DIR]`: validates DIR/infrabox.json, packs DIR (honouring .infraboxignore),
 * uploads it as the source of a new build, creates the build and prints its id.
 */
export function registerPushCommand(program: Command, context: CliContext): void {
  program
    .command('push')
    .description('upload a folder and run its infrabox.json as a new build')
    .argument('[dir]', 'folder holding infrabox.json (its content becomes the jobs\' working directory)', '.')
    .option('--api <url>', API_OPTION_HELP)
    .option('--project <name>', 'project of the build (default: "project" in .infrabox/local.json, else the folder\'s name)')
    .option('--token <token>', `project or user ${TOKEN_OPTION_HELP}`)
    .option('--follow', 'poll the build and print "job cluster state" lines until every job ended; exit 0 only if all finished')
    .option('--json', 'print {"buildId","jobs"} instead of the build id')
    .addHelpText(
      'after',
      `
Files matching .infraboxignore in DIR (gitignore syntax) are left out; .git always is, and
.infrabox/ (the local run's tokens, database and keys) unless .infraboxignore has !/.infrabox/.

Examples:
  $ infrabox push
  $ infrabox push ./my-repo --project demo --token "$TOKEN" --follow`,
    )
    .action(async (dir: string, options: PushOptions) => {
      context.exitCode = await push(dir, options, context);
    });
}

async function push(dir: string, options: PushOptions, context: CliContext): Promise<number> {
  const root = path.resolve(dir);
  const check = checkDefinitionFile(path.join(root, DEFINITION_FILE));
  if (!check.ok) {
    for (const line of check.lines) context.stderr(line);
    return EXIT_FAILURE;
  }
  const local = readLocalState(DEFAULT_STATE_DIR);
  const client = apiClientFor(context, options, 'push');
  if (!client.hasToken) {
    throw new CliError('no token: run `infrabox login`, pass --token, set INFRABOX_TOKEN, or start a local run with `infrabox up`', EXIT_USAGE);
  }
  const project = options.project ?? local?.project ?? path.basename(root);

  const uploadId = await uploadSource(client, root, project, context);
  const buildsPath = ROUTES.projectBuilds(project);
  const created = await client.request('POST', buildsPath, { definition: JSON.parse(check.text) as unknown, uploadId });
  if (created.status === 401 || created.status === 403) {
    throw new CliError(`creating a build needs a token of project '${project}' or an admin token: ${errorText(created.body)}`);
  }
  if (created.status !== 201) throw client.failure('POST', buildsPath, created);
  if (!isBuildWithJobs(created.body)) throw new CliError(`unexpected answer from ${client.baseUrl}${buildsPath}: not a build`);
  let build: BuildWithJobs = created.body;
  if (!options.json) context.stdout(build.id);

  let code = 0;
  if (options.follow) {
    build = await follow(client, build, options.json ? context.stderr : context.stdout);
    code = build.jobs.every((job) => job.state === 'finished') ? 0 : EXIT_FAILURE;
  }
  if (options.json) context.stdout(JSON.stringify({ buildId: build.id, jobs: build.jobs }, null, 2));
  return code;
}

/** Packs the folder into a temporary file (so its size is known), then uploads it with progress. */
async function uploadSource(client: InfraboxApiClient, root: string, project: string, context: CliContext): Promise<string> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'infrabox-push-'));
  try {
    const file = path.join(scratch, 'source.tar');
    const packed = packDirectory(root, { ignore: await loadIgnoreFile(root) });
    await pipeline(packed.stream, createWriteStream(file));
    const summary = await packed.done;
    const progress = new UploadProgress(summary.size, context.progressOut);
    const uploadPath = ROUTES.projectSource(project);
    const response = await client.upload(uploadPath, createReadStream(file), summary.size, TAR_CONTENT_TYPE, (bytes) => progress.update(bytes));
    progress.done();
    if (response.status === 401 || response.status === 403) {
      throw new CliError(`the token was refused for project '${project}': ${errorText(response.body)}`);
    }
    if (response.status !== 201) throw client.failure('PUT', uploadPath, response);
    const body = response.body as Partial<Record<keyof SourceUploadDto, unknown>>;
    if (typeof body?.uploadId !== 'string') throw new CliError(`unexpected answer from ${client.baseUrl}${uploadPath}: no uploadId`);
    if (body.sha256 !== summary.sha256) throw new CliError(`the upload arrived corrupted (sha256 ${String(body.sha256)}, sent ${summary.sha256})`);
    return body.uploadId;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Polls the build every 500 ms, printing `job cluster state` whenever a job's cluster or state changes. */
async function follow(client: InfraboxApiClient, build: BuildWithJobs, print: (line: string) => void): Promise<BuildWithJobs> {
  const seen = new Map<string, string>();
  const report = (jobs: JobDto[]) => {
    for (const job of jobs) {
      const line = `${job.name} ${job.cluster ?? '-'} ${job.state}`;
      if (seen.get(job.id) !== line) {
        seen.set(job.id, line);
        print(line);
      }
    }
  };
  report(build.jobs);
  for (;;) {
    if (build.jobs.every((job) => isFinal(job.state))) return build;
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_INTERVAL_MS));
    build = await fetchBuild(client, build.id);
    report(build.jobs);
  }
}

function errorText(body: unknown): string {
  if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string') return (body as { message: string }).message;
  return typeof body === 'string' ? body.slice(0, 200) : '';
}
