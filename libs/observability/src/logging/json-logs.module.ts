import type { IncomingMessage, ServerResponse } from 'node:http';
import { DynamicModule, Module, Type } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { stdSerializers, stdTimeFunctions, type Level } from 'pino';
import type { InstallConfig, LogLevel } from '@infrabox/config';
import { currentLogFields } from './log-context';
import { redactRequest, redactSecrets, type SerializedRequest } from './secret-redaction';

/** Nest's levels (the config's `log_level`) in pino's names. */
const PINO_LEVEL: Record<LogLevel, Level> = { error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'trace' };

/** Probes and scrapes come every few seconds: not worth a line each. */
const QUIET_ROUTES = /^\/(health|metrics)(\/|\?|$)/;

/**
 * Wraps an app's root module so that the app logs one JSON object per line on stdout:
 * `level`, `time`, `app`, `cluster`, `pid`, `context` (the Nest logger's name), `msg`, and the
 * log context's fields (`eventId`, `pattern`, `jobId`, `buildId`) where known; tokens, credentials
 * and cookies redacted (secret-redaction.ts). Used by runApp only;
 * apps built in-process by tests keep Nest's console logger.
 */
@Module({})
export class JsonLogsModule {
  static wrap(root: Type<unknown> | DynamicModule, app: string, config: InstallConfig): DynamicModule {
    return {
      module: JsonLogsModule,
      imports: [
        root,
        LoggerModule.forRoot({
          pinoHttp: {
            level: PINO_LEVEL[config.logLevel],
            base: { app, cluster: config.cluster.name, pid: process.pid },
            timestamp: stdTimeFunctions.isoTime,
            formatters: { level: (label) => ({ level: label }) },
            mixin: () => ({ ...currentLogFields() }),
            // Lines logged while serving a request carry its id only, not the whole request.
            quietReqLogger: true,
            // No token, credential or cookie reaches a line: not in a request, not in a message.
            serializers: {
              req: (req: SerializedRequest) => redactRequest(req),
              err: (error: Error) => {
                const serialized = stdSerializers.err(error);
                return { ...serialized, message: redactSecrets(serialized.message), stack: redactSecrets(serialized.stack ?? '') };
              },
            },
            hooks: {
              logMethod(args: unknown[], method: (...args: unknown[]) => void) {
                method.apply(this, args.map((arg) => (typeof arg === 'string' ? redactSecrets(arg) : arg)));
              },
            },
            autoLogging: { ignore: (req: IncomingMessage) => QUIET_ROUTES.test(req.url ?? '') },
            customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) =>
              error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'debug',
          },
        }),
      ],
    };
  }
}
