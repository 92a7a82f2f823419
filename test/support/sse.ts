/** One server-sent event message: its `event`, `id` and `data` fields. */
export interface SseMessage {
  event?: string;
  id?: string;
  data?: string;
}

/** The messages of a `text/event-stream` body, as they arrive (comments and keep-alives are skipped). */
export async function* sseMessages(body: ReadableStream<Uint8Array> | null): AsyncGenerator<SseMessage> {
  if (body === null) return;
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const field = (name: string) => block.split('\n').find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
      const message = { event: field('event'), id: field('id'), data: field('data') };
      if (message.event !== undefined || message.data !== undefined) yield message;
    }
  }
}
