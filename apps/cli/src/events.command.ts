import { Command, InvalidArgumentError } from 'commander';
import { type EventDto, ROUTES } from '@infrabox/contract';
import { API_OPTION_HELP, apiClientFor, sleep, TOKEN_OPTION_HELP } from './api-options';
import { CliError } from './cli-error';
import type { CliContext } from './cli.context';
import { readServerSentEvents } from './event-stream.reader';
import { InfraboxApiClient } from './infrabox-api.client';


const PAGE = 1000;

function isEventList(value: unknown): value is EventDto[] {
  return (
    Array.isArray(value) &&
    value.every((e: unknown) => typeof e === 'object' && e !== null && typeof (e as EventDto).id === 'string' && typeof (e as EventDto).type === 'string')
  );
}

/** `job.finished` and `job_finished` both name the same events; the API accepts either. */
function channelName(value: string): string {
  const name = value.trim();
  if (!/^[a-z0-9_.]{1,63}$/.test(name)) throw new InvalidArgumentError('an event type (job.finished) or its channel (job_finished)');
  return name;
}

/** One `id type cluster payload` line. */
export function formatEventLine(event: EventDto): string {
  return `${event.id} ${event.type} ${event.cluster ?? '-'} ${JSON.stringify(event.payload ?? null)}`;
}

/** `infrabox events [--follow] [--channel NAME] [--json]`: the installation's event log. */
export function registerEventsCommand(program: Command, context: CliContext): void {
  program
    .command('events')
    .description('print the event log (id type cluster payload); --follow keeps printing new events')
    .option('--channel <name>', 'only events of this type: job.finished or its channel name job_finished', channelName)
    .option('--follow', 'after the stored events, print each new event as it commits, until Ctrl-C')
    .option('--json', 'print one JSON object per line: {"id","type","cluster","payload","createdAt"}')
    .option('--api <url>', API_OPTION_HELP)
    .option('--token <token>', TOKEN_OPTION_HELP)
    .addHelpText(
      'after',
      `
Without --follow, prints the events stored so far, by id. With --follow, prints them in commit
order, then each new one as it commits (the API's SSE stream GET /api/v1/events/stream): an event
whose transaction commits after a later one is still printed, once. A lost connection is resumed
where it stopped.

Examples:
  $ infrabox events --channel job_finished
  $ infrabox events --follow --channel job.finished --json`,
    )
    .action(async (options: { channel?: string; follow?: boolean; json?: boolean; api?: string; token?: string }) => {
      const client = apiClientFor(context, options);
      const print = (event: EventDto) => context.stdout(options.json ? JSON.stringify(event) : formatEventLine(event));
      if (options.follow) return follow(client, options.channel, print, context);
      let after = '0';
      for (;;) {
        const query = new URLSearchParams({ after, limit: String(PAGE) });
        if (options.channel !== undefined) query.set('type', options.channel);
        const path = ROUTES.events(query);
        const response = await client.request('GET', path);
        if (response.status !== 200) throw client.failure('GET', path, response);
        if (!isEventList(response.body)) throw new CliError(`unexpected answer from ${client.baseUrl}${path}: not a list of events (is --api the InfraBox API?)`);
        for (const event of response.body) {
          print(event);
          after = event.id;
        }
        if (response.body.length < PAGE) return;
      }
    });
}

const RECONNECT_MS = 1_000;

/**
 * The whole event table, then live, from the API's SSE stream. The stream's cursor (each
 * message's id) resumes a lost connection exactly where it stopped.
 */
async function follow(client: InfraboxApiClient, channel: string | undefined, print: (event: EventDto) => void, context: CliContext): Promise<void> {
  const query = new URLSearchParams({ after: '0' });
  if (channel !== undefined) query.set('type', channel);
  const path = ROUTES.eventStream(query);
  let cursor: string | undefined;
  for (;;) {
    let opened: Awaited<ReturnType<InfraboxApiClient['openStream']>>;
    try {
      opened = await client.openStream(path, cursor);
    } catch (error) {
      // Never connected: say so and stop. Connected before: the API may be restarting.
      if (cursor === undefined || !(error instanceof CliError)) throw error;
      await sleep(RECONNECT_MS);
      continue;
    }
    if (opened.status !== 200) throw client.failure('GET', path, { status: opened.status, body: opened.body });
    try {
      for await (const message of readServerSentEvents(opened.stream!)) {
        if (message.type === 'events') {
          const events: unknown = JSON.parse(message.data);
          if (!isEventList(events)) throw new CliError(`unexpected answer from ${client.baseUrl}${path}: not a list of events (is --api the InfraBox API?)`);
          for (const event of events) print(event);
        }
        if (message.id !== undefined) cursor = message.id;
      }
    } catch (error) {
      if (error instanceof CliError || error instanceof SyntaxError) throw error;
      // The connection broke: resume from the cursor.
    }
    if (cursor === undefined) throw new CliError(`the InfraBox API at ${client.baseUrl} closed the event stream before it started`);
    context.stderr(`event stream interrupted; resuming`);
    await sleep(RECONNECT_MS);
  }
}
