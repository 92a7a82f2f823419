import { access } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { sleep } from '../api-options';
import { CliError, EXIT_USAGE } from '../cli-error';
import type { CliContext } from '../cli.context';
import { JobDataTransfer, ParentInput, writeReport } from './job-data.transfer';

/** How often `upload-output --wait-for` looks for the file the job's command leaves behind. */
const WAIT_POLL_MS = 200;

/**
 * `infrabox job fetch-inputs|upload-output`: internal commands a job's pod runs (the Kubernetes
 * executor's init and upload containers), with the job token in $INFRABOX_TOKEN and this
 * cluster's API in $INFRABOX_API. Hidden from the help: users never call them.
 */
export function registerJobCommand(program: Command, context: CliContext): void {
  const job = program.command('job', { hidden: true }).description("internal: a job pod's data steps");

  job
    .command('fetch-inputs')
    .description("unpack the build's source into DIR/context and each parent's output into DIR/inputs/<name>")
    .argument('<job>', 'job id')
    .option('--dir <dir>', 'the folder shared with the job container', '/infrabox')
    .option('--source', 'the build has a source to fetch')
    .option('--parent <id=name>', 'a direct parent whose output to fetch (repeatable)', collectParent, [] as ParentInput[])
    .action(async (jobId: string, options: { dir: string; source?: boolean; parent: ParentInput[] }) => {
      await transferFor(context, jobId).fetchInputs(options.dir, options.source === true, options.parent);
      context.stdout(`fetched ${options.source ? 'the source and ' : ''}${options.parent.length} input(s) into ${options.dir}`);
    });

  job
    .command('upload-output')
    .description('store DIR/output as the job output, once FILE exists when --wait-for is given')
    .argument('<job>', 'job id')
    .option('--dir <dir>', 'the folder shared with the job container', '/infrabox')
    .option('--wait-for <file>', 'wait until this file exists (the job container writes it when its command ends)')
    .option('--result <file>', 'also write the JSON report here (a container termination message)')
    .action(async (jobId: string, options: { dir: string; waitFor?: string; result?: string }) => {
      if (options.waitFor) while (!(await exists(options.waitFor))) await sleep(WAIT_POLL_MS);
      const report = await transferFor(context, jobId).uploadOutput(options.dir);
      if (options.result) await writeReport(options.result, report);
      context.stdout(JSON.stringify(report));
    });
}

function transferFor(context: CliContext, jobId: string): JobDataTransfer {
  if (!context.env.api) throw new CliError('$INFRABOX_API must name the API of the job’s cluster', EXIT_USAGE);
  if (!context.env.token) throw new CliError('$INFRABOX_TOKEN must hold the job token', EXIT_USAGE);
  if (!/^[0-9a-f-]{36}$/i.test(jobId)) throw new CliError(`job id: expected a UUID, got '${jobId}'`, EXIT_USAGE);
  return new JobDataTransfer(context.env.api.replace(/\/+$/, ''), context.env.token, jobId);
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
