import { Inject, Injectable, Optional } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { OBJECT_STORAGE, type ObjectStorage } from '@infrabox/storage';
import { withTimeout } from './with-timeout';

/** A key no job writes: asking for its size is a cheap round trip that any backend answers. */
const PROBE_KEY = 'health/probe';

/**
 * `storage`: the cluster's object storage answers a HEAD. Only apps that use storage import
 * StorageModule; for the others this check is left out.
 */
@Injectable()
export class StorageHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @Optional() @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage | null,
  ) {}

  get used(): boolean {
    return this.storage !== null && this.storage !== undefined;
  }

  async check(timeoutMs: number) {
    const indicator = this.indicators.check('storage');
    try {
      await withTimeout(this.storage!.head(PROBE_KEY), timeoutMs);
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }
}
