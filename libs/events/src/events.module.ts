import { DynamicModule, Global, Module } from '@nestjs/common';
import { CurrentCluster } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { EventConsumerRepository } from './event-consumer.repository';
import { EventRepository } from './event.repository';
import { PgEventClient } from './pg-event.client';
import { PgEventServer, PgEventServerOptions } from './pg-event.server';

export type EventsModuleOptions = Pick<PgEventServerOptions, 'app' | 'onlyOwnCluster' | 'pollIntervalMs'>;

/**
 * Gives an app the event client (inject `PgEventClient`) and the transport server, which main.ts
 * connects with `app.connectMicroservice({ strategy: app.get(PgEventServer) })`.
 */
@Global()
@Module({})
export class EventsModule {
  static forRoot(options: EventsModuleOptions): DynamicModule {
    return {
      module: EventsModule,
      providers: [
        EventRepository,
        EventConsumerRepository,
        { provide: PgEventClient, inject: [EventRepository], useFactory: (events: EventRepository) => new PgEventClient(events) },
        {
          provide: PgEventServer,
          inject: [CurrentCluster, Database, EventRepository, EventConsumerRepository],
          useFactory: (cluster: CurrentCluster, db: Database, events: EventRepository, consumers: EventConsumerRepository) =>
            new PgEventServer({ ...options, cluster: cluster.name, databaseUrl: db.url }, events, consumers),
        },
      ],
      exports: [PgEventClient, PgEventServer, EventRepository, EventConsumerRepository],
    };
  }
}
