import { Command, InvalidArgumentError } from 'commander';
import { API_OPTION_HELP, apiClientFor, FOLLOW_INTERVAL_MS, sleep } from './api-options';
import { CliError } from './cli-error';
import type { CliContext } from './cli.context';

/** An event as `GET /api/v1/events` returns it. */
export interface EventView {
  id: string;
  type: string;
  cluster: string | null;
  payload: unknown;
  createdAt: string | null;
}

const PAGE = 1000;

function isEventList(value: unknown): value is EventView[] {
  return (
    Array.isArray(value) &&
    value.every((e: unknown) => typeof e === 'object' && e !== null && typeof (e as EventView).id === 'string' && typeof (e as EventView).type === 'string')
  );
}

/** `job.finished` and `job_finished` both name the same events; the API accepts either. */
function channelName(value: string): string {
  const name = value.trim();
  if (!/^[a-z0-9_.]{1,63}$/.test(name)) throw new InvalidArgumentError('an event type (job.finished) or its channel (job_finished)');
  return name;
}

/** One `id type cluster payload` line. */
export function formatEventLine(event: EventView): string {
  return `${event.id} ${event.type} ${event.cluster ?? '-'} ${JSON.stringify(event.payload ?? null)}`;
}

/** `infrabox events [--follow] [--channel NAME] [--json]`: the installation's event log. */
export function registerEventsCommand(program: Command, context: CliContext): void {
  program
    .command('events')
    .description('print the event log (id type cluster payload); --follow keeps printing new events')
    .option('--channel <name>', 'only events of this type: job.finished or its channel name job_finished', channelName)
    .option('--follow', `poll for new events every ${FOLLOW_INTERVAL_MS} ms until Ctrl-C`)
    .option('--json', 'print one JSON object per line: {"id","type","cluster","payload","createdAt"}')
    .option('--api <url>', API_OPTION_HELP)
    .addHelpText(
      'after',
      `
Without --follow, prints the events stored so far (up to ${PAGE} per request, oldest first).

Examples:
  $ infrabox events --channel job_finished
  $ infrabox events --follow --channel job.finished --json`,
    )
    .action(async (options: { channel?: string; follow?: boolean; json?: boolean; api?: string }) => {
      const client = apiClientFor(context, options.api);
      let after = '0';
      for (;;) {
        const query = new URLSearchParams({ after, limit: String(PAGE) });
        if (options.channel !== undefined) query.set('type', options.channel);
        const path = `/api/v1/events?${query.toString()}`;
        const response = await client.request('GET', path);
        if (response.status !== 200) throw client.failure('GET', path, response);
        if (!isEventList(response.body)) throw new CliError(`unexpected answer from ${client.baseUrl}${path}: not a list of events (is --api the InfraBox API?)`);
        for (const event of response.body) {
          context.stdout(options.json ? JSON.stringify(event) : formatEventLine(event));
          after = event.id;
        }
        if (response.body.length === PAGE) continue;
        if (!options.follow) return;
        await sleep(FOLLOW_INTERVAL_MS);
      }
    });
}
