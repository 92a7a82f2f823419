/** The cluster events are declared in the event catalogue (`@infrabox/events`). */
export { CLUSTER_JOINED, CLUSTER_LOST, CLUSTER_UPDATED } from '@infrabox/events';
export type { ClusterJoinedEvent, ClusterLostEvent, ClusterUpdatedEvent } from '@infrabox/events';
