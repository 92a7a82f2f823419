import createSubscriber, { Subscriber } from 'pg-listen';

export interface Notification {
  channel: string;
  payload?: unknown;
}

/**
 * The one LISTEN connection of a process (never from a pool, never used for transactions).
 * pg-listen re-LISTENs every channel after a reconnect and then emits `connected`, which is
 * where consumers catch up on what they missed.
 */
export class EventListener {
  private readonly subscriber: Subscriber;

  constructor(
    url: string,
    applicationName: string,
    private readonly onConnected: () => void,
    onNotification: (notification: Notification) => void,
    private readonly onError: (error: Error) => void,
    onDisconnected: () => void = () => undefined,
  ) {
    this.subscriber = createSubscriber(
      { connectionString: url, keepAlive: true, application_name: applicationName },
      {
        // The default 3 s timeout gives up for good after a longer outage; retry for ever.
        retryTimeout: 0,
        retryInterval: (attempt) => Math.min(2_000, 100 * attempt),
        paranoidChecking: 10_000,
        // A payload that is not JSON (a NOTIFY typed by hand in psql) must not emit 'error'.
        parse: (text: string) => {
          try {
            return JSON.parse(text);
          } catch {
            return null;
          }
        },
      },
    );
    this.subscriber.events.on('connected', () => this.onConnected());
    this.subscriber.events.on('error', (error) => this.onError(error));
    // pg-listen emits `reconnect` on each attempt after losing its connection, `connected` once back.
    this.subscriber.events.on('reconnect', () => onDisconnected());
    this.subscriber.events.on('notification', (notification) => onNotification(notification));
  }

  /**
   * Connects and LISTENs. A connection cut between the two must not fail the app's start:
   * pg-listen records each channel before its LISTEN is sent, and its reconnect re-LISTENs every
   * recorded channel and then emits `connected` (a catch-up) by itself.
   */
  async connect(channels: string[]): Promise<void> {
    await this.subscriber.connect();
    let failure: Error | null = null;
    for (const channel of channels) {
      // After a failure the rest fail at once (the client is not queryable), long before the
      // reconnect reads the channel list.
      await Promise.resolve(this.subscriber.listenTo(channel)).catch((error: Error) => {
        failure ??= error;
      });
    }
    if (failure) {
      this.onError(new Error(`LISTEN failed, reconnecting: ${(failure as Error).message}`));
      return;
    }
    this.onConnected();
  }

  async close(): Promise<void> {
    await this.subscriber.close();
  }
}
