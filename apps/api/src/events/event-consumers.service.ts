import { Injectable } from '@nestjs/common';
import { DEFAULT_EVENT_RETENTION_SECONDS, InjectInstallConfig, InstallConfig } from '@infrabox/config';
import { EventConsumerRepository } from '@infrabox/events';

/** A durable event consumer as the API shows it (`GET /api/v1/events/consumers`). */
export interface EventConsumerDto {
  /** `app:cluster:event type`. */
  name: string;
  type: string | null;
  /** null: it reads every cluster's events. */
  cluster: string | null;
  lastSeenAt: string;
  /** Unseen for longer than the event retention: the pruner no longer waits for it. */
  gone: boolean;
}

@Injectable()
export class EventConsumersService {
  constructor(
    private readonly consumers: EventConsumerRepository,
    @InjectInstallConfig() private readonly config: InstallConfig,
  ) {}

  async list(now = new Date()): Promise<EventConsumerDto[]> {
    const retentionMs = (this.config.events?.retentionSeconds ?? DEFAULT_EVENT_RETENTION_SECONDS) * 1000;
    return (await this.consumers.findAll()).map((c) => ({
      name: c.name,
      type: c.type,
      cluster: c.cluster,
      lastSeenAt: c.lastSeenAt.toISOString(),
      gone: now.getTime() - c.lastSeenAt.getTime() > retentionMs,
    }));
  }
}
