import { Database } from '@infrabox/database';
import { EventConsumerRepository, EventRepository, PgEventContext, PgEventServer, StoredEvent } from '@infrabox/events';
import type { PgEventServerOptions } from '@infrabox/events';

export interface TestConsumer {
  server: PgEventServer;
  handled: StoredEvent[];
  close(): Promise<void>;
}

/** Starts the real transport server in this process with plain handlers that record each event. */
export async function startConsumer(
  db: Database,
  options: Partial<PgEventServerOptions> & { types: string[]; handle?: (event: StoredEvent) => Promise<void> | void },
): Promise<TestConsumer> {
  const server = new PgEventServer(
    { app: 'test', cluster: 'master', databaseUrl: db.url, ...options },
    new EventRepository(db),
    new EventConsumerRepository(db),
  );
  const handled: StoredEvent[] = [];
  for (const type of options.types) {
    server.addHandler(
      type,
      async (_data: unknown, ctx: PgEventContext) => {
        await options.handle?.(ctx.event);
        handled.push(ctx.event);
      },
      true,
    );
  }
  await new Promise<void>((resolve, reject) => server.listen((error?: unknown) => (error ? reject(error) : resolve())));
  return { server, handled, close: () => server.close() };
}
