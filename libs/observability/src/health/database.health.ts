import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Database } from '@infrabox/database';
import { withTimeout } from './with-timeout';

/** `database`: a `SELECT 1` through the app's pool answers within the probe's time. */
@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly db: Database,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async check(timeoutMs: number) {
    const indicator = this.indicators.check('database');
    try {
      await withTimeout(this.db.query('SELECT 1'), timeoutMs);
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }
}
