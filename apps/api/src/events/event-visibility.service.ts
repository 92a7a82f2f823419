import { Injectable } from '@nestjs/common';
import type { StoredEvent } from '@infrabox/events';
import { EventVisibilityRepository } from './event-visibility.repository';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The events a caller who sees some projects may see: events of a job (`jobId`) or a build
 * (`buildId`) of those projects, and events of neither (the clusters'). Console output travels in
 * job events, so an event of a project the caller does not see never reaches them.
 */
@Injectable()
export class EventVisibility {
  constructor(private readonly repository: EventVisibilityRepository) {}

  /** `events` as a caller who sees `projectIds` (null: every project) may see them, in order. */
  async filter(events: readonly StoredEvent[], projectIds: readonly string[] | null): Promise<StoredEvent[]> {
    if (projectIds === null) return [...events];
    const jobIds = new Set<string>();
    const buildIds = new Set<string>();
    for (const event of events) {
      const subject = subjectOf(event);
      if (subject?.kind === 'job') jobIds.add(subject.id);
      if (subject?.kind === 'build') buildIds.add(subject.id);
    }
    const seen = await this.repository.ofProjects([...jobIds], [...buildIds], projectIds);
    return events.filter((event) => {
      const subject = subjectOf(event);
      return subject === undefined || (subject.id !== '' && seen.has(subject.id));
    });
  }
}

/** The job or build an event is about (`id` '' when it names one that is not a valid id); undefined for neither. */
function subjectOf(event: StoredEvent): { kind: 'job' | 'build'; id: string } | undefined {
  const payload = event.payload as { jobId?: unknown; buildId?: unknown } | null;
  if (typeof payload !== 'object' || payload === null) return undefined;
  if (payload.jobId !== undefined) return { kind: 'job', id: typeof payload.jobId === 'string' && UUID.test(payload.jobId) ? payload.jobId : '' };
  if (payload.buildId !== undefined) return { kind: 'build', id: typeof payload.buildId === 'string' && UUID.test(payload.buildId) ? payload.buildId : '' };
  return undefined;
}
