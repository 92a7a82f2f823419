/**
 * A dashboard's view during the soak: keeps the master api's server-sent event stream open (so
 * the api holds its event-stream LISTEN connection, which the chaos driver then terminates too),
 * reconnecting with `Last-Event-ID` whenever the stream ends.
 */
export class EventStreamWatcher {
  private readonly abort = new AbortController();
  private running: Promise<void> | null = null;
  /** `events` messages received, and how often the stream had to be opened again. */
  messages = 0;
  reconnects = 0;

  /** `token`: an admin's (the stream needs a login); awaited at each (re)connect. */
  constructor(
    private readonly apiUrl: string,
    private readonly token: Promise<string>,
  ) {}

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    let lastId: string | null = null;
    let opened = 0;
    while (!this.abort.signal.aborted) {
      try {
        if (opened++ > 0) this.reconnects++;
        const response = await fetch(`${this.apiUrl}/api/v1/events/stream?after=now`, {
          headers: { authorization: `Bearer ${await this.token}`, ...(lastId ? { 'last-event-id': lastId } : {}) },
          signal: this.abort.signal,
        });
        if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
        const decoder = new TextDecoder();
        let buffer = '';
        for await (const chunk of response.body) {
          buffer += decoder.decode(chunk as Uint8Array, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const message = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const id = /^id: ?(.*)$/m.exec(message)?.[1];
            if (id) lastId = id;
            if (/^event: ?events$/m.test(message)) this.messages++;
          }
        }
      } catch {
        // The api or the database is restarting: open the stream again in a moment.
      }
      if (!this.abort.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
