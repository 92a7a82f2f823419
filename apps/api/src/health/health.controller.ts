import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { PgEventServer } from '@infrabox/events';

interface HealthReport {
  status: 'ok' | 'unavailable';
  checks: Record<string, 'up' | 'down'>;
}

@Controller('health')
export class HealthController {
  constructor(
    private readonly db: Database,
    private readonly events: PgEventServer,
  ) {}

  /** The process is alive; restart it only when this fails. */
  @Get('live')
  live(): HealthReport {
    return { status: 'ok', checks: {} };
  }

  /** Ready to take traffic: database reachable and the event listener connected. */
  @Get('ready')
  async ready(): Promise<HealthReport> {
    const database = await this.db.query('SELECT 1').then(
      () => 'up' as const,
      () => 'down' as const,
    );
    const checks = { database, events: this.events.isListening ? ('up' as const) : ('down' as const) };
    const report: HealthReport = { status: Object.values(checks).every((c) => c === 'up') ? 'ok' : 'unavailable', checks };
    if (report.status !== 'ok') throw new ServiceUnavailableException(report);
    return report;
  }
}
