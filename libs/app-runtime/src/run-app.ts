import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamicModule, INestApplication, Logger, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoLogger } from 'nestjs-pino';
import { bindAddressOf, ConfigError, haOf, InstallConfig, loadInstallConfig } from '@infrabox/config';
import { PgEventServer } from '@infrabox/events';
import { JsonLogsModule } from '@infrabox/observability';
import { parseAppArguments } from './app-arguments';

export interface AppDefinition {
  /** `api`, `registry`, `scheduler` or `output-forwarder`. */
  name: string;
  /** Builds the root module from the validated install configuration. */
  module: (config: InstallConfig) => Type<unknown> | DynamicModule;
  /**
   * The api listens on the port of the config's `host` unless `--port` says otherwise; the other
   * apps serve only health and metrics, on `--port` or else an ephemeral port (logged), so that
   * several installations run side by side on one machine.
   */
  servesApi: boolean;
  /** Sets up the HTTP edge (body parsers, server events) after the app is created, before it initialises. */
  configureHttp?: (app: INestApplication) => void;
}

/**
 * Starts one app: validate the config once (exit 2 with one line per problem), build the Nest
 * app, connect the PostgreSQL event transport, serve HTTP (every app has /health/live,
 * /health/ready and /metrics), and shut down cleanly on SIGTERM/SIGINT.
 */
export async function runApp(definition: AppDefinition, argv = process.argv.slice(2)): Promise<INestApplication | undefined> {
  let args: ReturnType<typeof parseAppArguments>;
  try {
    args = parseAppArguments(definition.name, argv);
  } catch (error) {
    process.stderr.write(`infrabox ${definition.name}: ${(error as Error).message}\n`);
    process.exitCode = 2;
    return undefined;
  }
  if (args.help) {
    process.stdout.write(args.help);
    return undefined;
  }
  let config: InstallConfig;
  try {
    config = loadInstallConfig({ file: args.configFile });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`infrabox ${definition.name}: ${error.message}\n`);
    process.exitCode = 2;
    return undefined;
  }

  // Logs of the start-up are held until the JSON logger is in place, then written through it.
  const app = await NestFactory.create(JsonLogsModule.wrap(definition.module(config), definition.name, config), { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(PinoLogger));
  const logger = new Logger('app');
  stopOnSignals(app, logger, haOf(config).shutdownGraceMs);
  definition.configureHttp?.(app);
  app.connectMicroservice({ strategy: app.get(PgEventServer) }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  await app.listen(args.port ?? (definition.servesApi ? config.listenPort : 0), bindAddressOf(config));
  const { port } = app.getHttpServer().address() as AddressInfo;
  logger.log(definition.servesApi ? `listening on port ${port} as ${config.apiUrl}` : `listening on port ${port} (health, metrics)`);
  logger.log(`${definition.name} of cluster '${config.cluster.name}' is running`);
  return app;
}

/**
 * SIGTERM/SIGINT close the app gracefully — each part hands back or finishes what it holds (see
 * the shutdown hooks: RunnerShutdown, TransferHandlers, the leader duties) — and then exit 0. The
 * HTTP server takes no new connections; requests in progress (a peer streaming an output) get
 * the grace period, then their connections are cut (an upload cut short is never stored, a
 * download cut short is resumed or redone by the peer). A second signal while closing exits at
 * once (status 1): nothing is lost, replicas recover what it held.
 */
function stopOnSignals(app: INestApplication, logger: Logger, graceMs: number): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      logger.warn(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    closing = true;
    logger.log(`${signal}: shutting down`);
    const server = app.getHttpServer() as Server;
    setTimeout(() => server.closeAllConnections(), graceMs).unref();
    app.close().then(
      () => {
        logger.log('stopped');
        process.exit(0);
      },
      (error: Error) => {
        logger.error(`shutdown failed: ${error.stack ?? error.message}`);
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, onSignal);
}
