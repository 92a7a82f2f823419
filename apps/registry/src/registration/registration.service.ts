import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { CurrentCluster, InjectInstallConfig, InstallConfig, registryOf } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { PgEventClient } from '@infrabox/events';
import {
  Cluster,
  CLUSTER_JOINED,
  CLUSTER_UPDATED,
  ClusterJoinedEvent,
  ClusterRepository,
  ClusterUpdatedEvent,
  RegistrationResult,
} from '@infrabox/clusters';
import { PeriodicTask } from '@infrabox/app-runtime';
import { REGISTRY_OPTIONS, RegistryOptions } from '../registry.options';

type RegistrationEvent =
  | { type: typeof CLUSTER_JOINED; payload: ClusterJoinedEvent }
  | { type: typeof CLUSTER_UPDATED; payload: ClusterUpdatedEvent };

/**
 * This cluster's own row: written from the install config at start-up, then kept fresh by a
 * heartbeat. Every replica of the registry does this; the row and its events come out the same.
 */
@Injectable()
export class RegistrationService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('registration');
  private readonly heartbeats: PeriodicTask;

  constructor(
    @InjectInstallConfig() private readonly config: InstallConfig,
    private readonly cluster: CurrentCluster,
    private readonly db: Database,
    private readonly clusters: ClusterRepository,
    private readonly events: PgEventClient,
    @Inject(REGISTRY_OPTIONS) options: RegistryOptions,
  ) {
    this.heartbeats = new PeriodicTask('heartbeat', options.heartbeatIntervalMs, () => this.heartbeat(), this.logger);
  }

  private get name(): string {
    return this.cluster.name;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.register();
    this.heartbeats.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.heartbeats.stop();
  }

  /**
   * Creates or updates this cluster's row from the config. Emits `cluster.joined` when the row
   * is new or was inactive, `cluster.updated` when labels or API URL changed, nothing otherwise.
   * Returns the event emitted, if any.
   */
  async register(): Promise<RegistrationEvent | null> {
    const { result, event } = await this.db.transaction(async () => {
      const result = await this.clusters.register({
        name: this.name,
        labels: this.cluster.labels,
        apiUrl: this.cluster.url,
        registryUrl: registryOf(this.config).url,
        projects: this.cluster.projects,
      });
      const event = registrationEvent(result);
      if (event) await this.events.emit(event.type, event.payload);
      return { result, event };
    });
    this.logger.log(describeRegistration(result));
    return event;
  }

  /** Refreshes the heartbeat; a cluster that had been reported lost becomes active and joins again. */
  async heartbeat(): Promise<void> {
    if (await this.clusters.heartbeat(this.name)) return;
    const revived = await this.db.transaction(async () => {
      const cluster = await this.clusters.markActive(this.name);
      if (cluster) await this.events.emit(CLUSTER_JOINED, joinedEvent(cluster));
      return cluster;
    });
    if (revived) {
      this.logger.log(`cluster '${this.name}' heartbeats again: active, joined`);
      return;
    }
    // Neither active nor inactive: the row is gone (or another replica revived it a moment ago).
    await this.register();
  }
}

function registrationEvent({ previous, current }: RegistrationResult): RegistrationEvent | null {
  if (!previous || !previous.active) return { type: CLUSTER_JOINED, payload: joinedEvent(current) };
  const payload: ClusterUpdatedEvent = { cluster: current.name };
  if (!sameLabels(previous.labels, current.labels)) payload.labels = current.labels;
  if (previous.apiUrl !== current.apiUrl) payload.apiUrl = current.apiUrl;
  if (previous.capacity !== current.capacity) payload.capacity = current.capacity;
  return Object.keys(payload).length > 1 ? { type: CLUSTER_UPDATED, payload } : null;
}

function joinedEvent(cluster: Cluster): ClusterJoinedEvent {
  return { cluster: cluster.name, labels: cluster.labels, apiUrl: cluster.apiUrl };
}

/** Labels are a set: a new order in the config is not a change. */
function sameLabels(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join('\0') === [...b].sort().join('\0');
}

function describeRegistration({ previous, current }: RegistrationResult): string {
  const protectedFor = current.projects === null ? '' : `; runs only projects ${current.projects.join(', ')}`;
  const what = `cluster '${current.name}' (labels: ${current.labels.join(', ') || 'none'}; api ${current.apiUrl}${protectedFor})`;
  if (!previous) return `registered ${what}`;
  if (!previous.active) return `registered ${what}: active again after ${previous.heartbeatAgeSeconds.toFixed(1)} s without heartbeat`;
  const changes = [
    sameLabels(previous.labels, current.labels) ? null : `labels were ${previous.labels.join(', ') || 'none'}`,
    previous.apiUrl === current.apiUrl ? null : `api was ${previous.apiUrl}`,
  ].filter((change) => change !== null);
  return changes.length > 0 ? `updated ${what}: ${changes.join('; ')}` : `registered ${what}: unchanged`;
}
