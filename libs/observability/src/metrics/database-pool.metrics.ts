import { Injectable } from '@nestjs/common';
import { Gauge, Registry } from 'prom-client';
import { Database } from '@infrabox/database';

/**
 * The app's connection pool at scrape time: `waiting` above zero with no `idle` client means
 * every connection is taken and work queues for one (a slow query, a transaction left open).
 */
@Injectable()
export class DatabasePoolMetrics {
  constructor(db: Database, registry: Registry) {
    new Gauge({
      name: 'infrabox_db_pool_clients',
      help: 'Clients of the app’s PostgreSQL pool by state: total (open connections), idle, waiting (requests queued for a connection)',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        this.set({ state: 'total' }, db.pool.totalCount);
        this.set({ state: 'idle' }, db.pool.idleCount);
        this.set({ state: 'waiting' }, db.pool.waitingCount);
      },
    });
  }
}
