/**
 * A process that hosts some of bench:scale's simulated clusters (one Nest app each), driven by
 * its parent over IPC: `start` → `ready`, `stats` → `stats`, `stop` → exit.
 */
import 'reflect-metadata';
import { CallHandler, ExecutionContext, INestApplication, NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import { NestFactory } from '@nestjs/core';
import { parseInstallConfig } from '@infrabox/config';
import { PgEventServer } from '@infrabox/events';
import { PlacedJobs, SimulatedClusterModule } from './simulated-cluster.module';
import { HostMessage, HostReply, SimulatedCluster, simulatedAppName } from './scale-protocol';

const apps = new Map<string, INestApplication>();
let eventsHandled = 0;

/** Counts every event handler invocation of every app in this process. */
class HandledEventCounter implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'rpc') eventsHandled++;
    return next.handle();
  }
}

function reply(message: HostReply): void {
  process.send!(message);
}

async function startCluster(databaseUrl: string, poolerUrl: string | undefined, cluster: SimulatedCluster): Promise<void> {
  // The app name on every connection of this app (its pool and its listener), to count them.
  const named = (raw: string) => {
    const url = new URL(raw);
    url.searchParams.set('application_name', simulatedAppName(cluster.name));
    return url.toString();
  };
  const labels = cluster.labels.length > 0 ? `[${cluster.labels.join(', ')}]` : '[]';
  const config = parseInstallConfig(`host: http://127.0.0.1:1\ncluster:\n  name: ${cluster.name}\n  labels: ${labels}\n`, {
    DATABASE_URL: named(databaseUrl),
    ...(poolerUrl === undefined ? {} : { DATABASE_POOLER_URL: named(poolerUrl) }),
  });
  const app = await NestFactory.create(SimulatedClusterModule.forConfig(config), { logger: ['error', 'warn'] });
  app.useGlobalInterceptors(new HandledEventCounter());
  app.connectMicroservice({ strategy: app.get(PgEventServer) }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  await app.init();
  apps.set(cluster.name, app);
}

async function onMessage(message: HostMessage): Promise<void> {
  if (message.kind === 'start') {
    // One at a time: 25 apps migrating and connecting at once only contend.
    for (const cluster of message.clusters) await startCluster(message.databaseUrl, message.poolerUrl, cluster);
    reply({ kind: 'ready' });
  } else if (message.kind === 'stats') {
    const placed: Record<string, string[]> = {};
    let misdelivered = 0;
    let delivered = 0;
    let lastDeliveryAt = 0;
    for (const [name, app] of apps) {
      const jobs = app.get(PlacedJobs);
      placed[name] = message.withJobIds ? jobs.jobIds : [];
      misdelivered += jobs.misdelivered;
      delivered += jobs.jobIds.length;
      lastDeliveryAt = Math.max(lastDeliveryAt, jobs.lastAt);
    }
    reply({ kind: 'stats', delivered, misdelivered, eventsHandled, lastDeliveryAt, placed });
  } else {
    await Promise.all([...apps.values()].map((app) => app.close()));
    process.exit(0);
  }
}

process.on('message', (message: HostMessage) => {
  onMessage(message).catch((error: Error) => {
    process.stderr.write(`scale host: ${error.stack}\n`);
    process.exit(1);
  });
});
process.on('disconnect', () => process.exit(0));
