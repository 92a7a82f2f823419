/** The job life cycle's events are declared in the event catalogue (`@infrabox/events`). */
export {
  BUILD_CREATED,
  BUILD_SOURCE_READY,
  JOB_ABORT_REQUESTED,
  JOB_CONSOLE,
  JOB_FINISHED,
  JOB_INPUTS_READY,
  JOB_PLACED,
  JOB_STARTED,
} from '@infrabox/events';
export type {
  BuildCreatedEvent,
  BuildSourceReadyEvent,
  JobAbortRequestedEvent,
  JobConsoleEvent,
  JobFinishedEvent,
  JobInputsReadyEvent,
  JobPlacedEvent,
  JobStartedEvent,
} from '@infrabox/events';
