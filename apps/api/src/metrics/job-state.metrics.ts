import { Injectable } from '@nestjs/common';
import { Gauge, Registry } from 'prom-client';
import { CurrentCluster } from '@infrabox/config';
import { JOB_STATES, JobStatsRepository } from '@infrabox/jobs';

/**
 * `infrabox_jobs{cluster,state}`, read from the database at scrape time. Each installation's api
 * reports its own cluster's jobs, and the master's also those not placed yet (cluster ""), so
 * summing over installations counts every job once.
 */
@Injectable()
export class JobStateMetrics {
  constructor(registry: Registry, jobs: JobStatsRepository, cluster: CurrentCluster) {
    const own = cluster.name;
    new Gauge({
      name: 'infrabox_jobs',
      help: 'Jobs by cluster and state (cluster "" = not placed yet, reported by the master)',
      labelNames: ['cluster', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        // With the database away the scrape still answers (health says why), without these series.
        const counts = await jobs.countByState(own, cluster.isMaster).catch(() => null);
        if (counts === null) return;
        // Every state of our cluster, zeros included, so an emptied state reads 0 rather than vanishing.
        for (const state of JOB_STATES) this.set({ cluster: own, state }, 0);
        for (const { cluster, state, count } of counts) this.set({ cluster: cluster ?? '', state }, count);
      },
    });
  }
}
