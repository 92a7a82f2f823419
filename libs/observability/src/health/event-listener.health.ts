import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { PgEventServer } from '@infrabox/events';

/** `events`: the app's LISTEN connection is up (an app without event handlers has none to lose). */
@Injectable()
export class EventListenerHealthIndicator {
  constructor(
    private readonly server: PgEventServer,
    private readonly indicators: HealthIndicatorService,
  ) {}

  check() {
    const indicator = this.indicators.check('events');
    return this.server.isListening ? indicator.up() : indicator.down({ message: 'the LISTEN connection is down; reconnecting' });
  }
}
