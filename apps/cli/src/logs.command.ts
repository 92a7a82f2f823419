import { Command } from 'commander';
import { type ConsoleChunkDto, isFinal, ROUTES } from '@infrabox/contract';
import { API_OPTION_HELP, apiClientFor, FOLLOW_INTERVAL_MS, sleep, TOKEN_OPTION_HELP } from './api-options';
import { isJobDto } from './build.view';
import { CliError } from './cli-error';
import type { CliContext } from './cli.context';
import { InfraboxApiClient } from './infrabox-api.client';
import { fetchBuild } from './jobs.command';


function isChunkList(value: unknown): value is ConsoleChunkDto[] {
  return (
    Array.isArray(value) &&
    value.every((c: unknown) => typeof c === 'object' && c !== null && typeof (c as ConsoleChunkDto).seq === 'number' && typeof (c as ConsoleChunkDto).text === 'string')
  );
}

/** `infrabox logs JOB|BUILD/JOBNAME [--follow]`: a job's console output, chunk by chunk, in order. */
export function registerLogsCommand(program: Command, context: CliContext, write: (text: string) => void = (text) => process.stdout.write(text)): void {
  program
    .command('logs')
    .description("print a job's console output; --follow keeps printing until the job has ended")
    .argument('<job>', 'job id (the ID column of `infrabox jobs BUILD`, "id" in its --json), or BUILD/JOBNAME (e.g. <build id>/sub/test)')
    .option('--follow', `poll for new output every ${FOLLOW_INTERVAL_MS} ms; exit 0 once the job has ended and all output is printed`)
    .option('--api <url>', API_OPTION_HELP)
    .option('--token <token>', TOKEN_OPTION_HELP)
    .addHelpText(
      'after',
      `
Examples:
  $ infrabox logs 7c1e0b7a-3f7d-4b43-9d0e-8a6f1e2d9c41
  $ infrabox logs 7c1e0b7a-3f7d-4b43-9d0e-8a6f1e2d9c41 --follow
  $ infrabox logs 0d9c2f4e-5b1a-4c7e-9a43-2f8e61b0c7d5/build --follow`,
    )
    .action(async (job: string, options: { follow?: boolean; api?: string; token?: string }) => {
      const client = apiClientFor(context, options);
      const jobId = await resolveJobId(client, job);
      // Also answers "unknown job" before any output.
      let state = await jobState(client, jobId);
      let after = 0;
      for (;;) {
        const chunks = await readChunks(client, jobId, after);
        for (const chunk of chunks) {
          write(chunk.text);
          after = Math.max(after, chunk.seq);
        }
        // The api answers a page at a time: read on until a read brings nothing. The state was
        // read before the chunks: once it is final, nothing new can follow that empty read.
        if (chunks.length > 0) continue;
        if (!options.follow || isFinal(state)) return;
        await sleep(FOLLOW_INTERVAL_MS);
        state = await jobState(client, jobId);
      }
    });
}

/** A job id as given, or the id of job JOBNAME of build BUILD for `BUILD/JOBNAME` (names may hold `/`). */
async function resolveJobId(client: InfraboxApiClient, job: string): Promise<string> {
  const slash = job.indexOf('/');
  if (slash < 0) return job;
  const [buildId, name] = [job.slice(0, slash), job.slice(slash + 1)];
  const build = await fetchBuild(client, buildId);
  const found = build.jobs.find((j) => j.name === name);
  if (found === undefined) throw new CliError(`build '${buildId}' has no job '${name}' (its jobs: ${build.jobs.map((j) => j.name).join(', ') || 'none'})`);
  return found.id;
}

async function jobState(client: InfraboxApiClient, jobId: string): Promise<string> {
  const path = ROUTES.job(jobId);
  const response = await client.request('GET', path);
  if (response.status === 404 || response.status === 400) throw new CliError(`job '${jobId}' not found`);
  if (response.status !== 200) throw client.failure('GET', path, response);
  if (!isJobDto(response.body)) throw new CliError(`unexpected answer from ${client.baseUrl}${path}: not a job (is --api the InfraBox API?)`);
  return response.body.state;
}

async function readChunks(client: InfraboxApiClient, jobId: string, after: number): Promise<ConsoleChunkDto[]> {
  const path = ROUTES.jobConsole(jobId, after);
  const response = await client.request('GET', path);
  if (response.status === 404 || response.status === 400) throw new CliError(`job '${jobId}' not found`);
  if (response.status !== 200) throw client.failure('GET', path, response);
  if (!isChunkList(response.body)) throw new CliError(`unexpected answer from ${client.baseUrl}${path}: not console output (is --api the InfraBox API?)`);
  return response.body;
}
