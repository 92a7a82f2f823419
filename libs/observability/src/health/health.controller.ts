import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { DatabaseHealthIndicator } from './database.health';
import { EventListenerHealthIndicator } from './event-listener.health';
import { StorageHealthIndicator } from './storage.health';

/** Each dependency must answer within this, so a probe never hangs on a dead connection. */
const CHECK_TIMEOUT_MS = 2_000;

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
    private readonly storage: StorageHealthIndicator,
    private readonly events: EventListenerHealthIndicator,
  ) {}

  /** The process is up and its event loop answers; restart it only when this fails. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /** Ready for work: database reachable, storage reachable (where used), event listener connected. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.database.check(CHECK_TIMEOUT_MS),
      ...(this.storage.used ? [() => this.storage.check(CHECK_TIMEOUT_MS)] : []),
      () => this.events.check(),
    ]);
  }
}
