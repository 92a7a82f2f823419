import { access } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { CommandFailure, EXIT_USAGE, sleep } from '@infrabox/toolkit';
import type { AgentEnvironment } from './agent-environment';
import { JobDataTransfer, ParentInput, writeReport } from './job-data.transfer';

/** How often `upload-output --wait-for` looks for the file the job's command leaves behind. */
const WAIT_POLL_MS = 200;

/**
 * `fetch-inputs` and `upload-output`: the steps a job's pod runs (the Kubernetes executor's init
 * and upload containers), with the job token in $INFRABOX_TOKEN (or $INFRABOX_TOKEN_FILE) and
 * this cluster's API in $INFRABOX_API.
 */
export function registerAgentCommands(program: Command, env: AgentEnvironment, stdout: (line: string) => void): void {
  program
    .command('fetch-inputs')
    .description("unpack the build's source into DIR/context and each parent's output into DIR/inputs/<name>")
    .argument('<job>', 'job id')
    .option('--dir <dir>', 'the folder shared with the job container', '/infrabox')
    .option('--source', 'the build has a source to fetch')
    .option('--parent <id=name>', 'a direct parent whose output to fetch (repeatable)', collectParent, [] as ParentInput[])
    .action(async (jobId: string, options: { dir: string; source?: boolean; parent: ParentInput[] }) => {
      await transferFor(env, jobId).fetchInputs(options.dir, options.source === true, options.parent);
      stdout(`fetched ${options.source ? 'the source and ' : ''}${options.parent.length} input(s) into ${options.dir}`);
    });

  program
    .command('upload-output')
    .description('store DIR/output as the job output, once FILE exists when --wait-for is given')
    .argument('<job>', 'job id')
    .option('--dir <dir>', 'the folder shared with the job container', '/infrabox')
    .option('--wait-for <file>', 'wait until this file exists (the job container writes it when its command ends)')
    .option('--result <file>', 'also write the JSON report here (a container termination message)')
    .action(async (jobId: string, options: { dir: string; waitFor?: string; result?: string }) => {
      if (options.waitFor) while (!(await exists(options.waitFor))) await sleep(WAIT_POLL_MS);
      const report = await transferFor(env, jobId).uploadOutput(options.dir);
      if (options.result) await writeReport(options.result, report);
      stdout(JSON.stringify(report));
    });
}

function transferFor(env: AgentEnvironment, jobId: string): JobDataTransfer {
  if (!env.api) throw new CommandFailure('$INFRABOX_API must name the API of the job’s cluster', EXIT_USAGE);
  if (!env.token) throw new CommandFailure('$INFRABOX_TOKEN must hold the job token', EXIT_USAGE);
  if (!/^[0-9a-f-]{36}$/i.test(jobId)) throw new CommandFailure(`job id: expected a UUID, got '${jobId}'`, EXIT_USAGE);
  return new JobDataTransfer(env.api.replace(/\/+$/, ''), env.token, jobId);
}

function collectParent(value: string, previous: ParentInput[]): ParentInput[] {
  const match = /^([0-9a-fA-F-]{36})=(.+)$/.exec(value);
  if (!match || match[2].includes('/') || match[2] === '.' || match[2] === '..') {
    throw new InvalidArgumentError('expected <parent job id>=<parent name> (a name without "/")');
  }
  return [...previous, { id: match[1], name: match[2] }];
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
