/**
 * A separate process for the event tests: consumes event types through the real transport and
 * prints one line per handled event, or emits events. Driven by one JSON argument.
 *
 *   consume: {"mode":"consume","app":"a","cluster":"c","types":["t.x"],"onlyOwnCluster":true,"failFirst":0}
 *   emit:    {"mode":"emit","type":"t.x","count":1000,"perTransaction":1,"tag":"p1","cluster":null}
 */
import 'reflect-metadata';
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { InstallConfigModule, parseInstallConfig } from '@infrabox/config';
import { Database, DatabaseModule } from '@infrabox/database';
import { EventsModule, forCluster, PgEventClient, PgEventContext, PgEventServer } from '@infrabox/events';

interface PeerArgs {
  mode: 'consume' | 'emit';
  app?: string;
  cluster?: string;
  types?: string[];
  onlyOwnCluster?: boolean;
  type?: string;
  count?: number;
  perTransaction?: number;
  tag?: string;
  scopeTo?: string | null;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]) as PeerArgs;
  const config = parseInstallConfig(
    `host: http://127.0.0.1:1\ncluster:\n  name: ${args.cluster ?? 'master'}\n`,
    { DATABASE_URL: process.env.DATABASE_URL },
  );
  @Module({
    imports: [InstallConfigModule.forRoot(config), DatabaseModule, EventsModule.forRoot({ app: args.app ?? 'peer', onlyOwnCluster: args.onlyOwnCluster })],
  })
  class PeerModule {}

  Logger.overrideLogger(['error', 'warn']);
  const app = await NestFactory.create(PeerModule, { logger: ['error', 'warn'] });
  if (args.mode === 'consume') {
    const server = app.get(PgEventServer);
    for (const type of args.types ?? []) {
      server.addHandler(
        type,
        async (data: { seq?: number; tag?: string }, ctx: PgEventContext) => {
          process.stdout.write(`H ${type} ${ctx.event.id} ${data?.tag ?? ''} ${data?.seq ?? ''}\n`);
        },
        true,
      );
    }
    app.connectMicroservice({ strategy: server });
    await app.startAllMicroservices();
    await app.init();
    process.stdout.write('READY\n');
    process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
    return;
  }

  await app.init();
  const client = app.get(PgEventClient);
  const db = app.get(Database);
  const count = args.count ?? 1;
  const perTransaction = args.perTransaction ?? 1;
  for (let seq = 0; seq < count; seq += perTransaction) {
    await db.transaction(async () => {
      for (let i = seq; i < Math.min(count, seq + perTransaction); i++) {
        const data = { seq: i, tag: args.tag ?? '' };
        await client.emitAny(args.type!, args.scopeTo ? forCluster(args.scopeTo, data) : data);
      }
    });
  }
  process.stdout.write(`EMITTED ${count}\n`);
  await app.close();
}

main().catch((error: Error) => {
  process.stderr.write(`event-peer: ${error.stack}\n`);
  process.exit(1);
});
