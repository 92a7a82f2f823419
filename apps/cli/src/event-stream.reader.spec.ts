import { readServerSentEvents, ServerSentEvent } from './event-stream.reader';

async function parse(...chunks: string[]): Promise<ServerSentEvent[]> {
  async function* body(): AsyncGenerator<Uint8Array> {
    for (const chunk of chunks) yield new TextEncoder().encode(chunk);
  }
  const events: ServerSentEvent[] = [];
  for await (const event of readServerSentEvents(body())) events.push(event);
  return events;
}

describe('readServerSentEvents', () => {
  it('parses typed events with ids, split anywhere across chunks, skipping comments', async () => {
    expect(await parse('\nevent: eve', 'nts\nid: 12:3,4\ndata: [1,\ndata: 2]\n\n: keep-alive\n\n', 'event: ready\r\nid: 13\r\ndata: {}\r\n\r\n')).toEqual([
      { type: 'events', id: '12:3,4', data: '[1,\n2]' },
      { type: 'ready', id: '13', data: '{}' },
    ]);
  });

  it('keeps the last id for events without one, names untyped events "message", drops an unfinished event', async () => {
    expect(await parse('id: 5\ndata: a\n\ndata: b\n\ndata: c')).toEqual([
      { type: 'message', id: '5', data: 'a' },
      { type: 'message', id: '5', data: 'b' },
    ]);
  });
});
