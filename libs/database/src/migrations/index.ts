import { initial } from './0001-initial.migration';
import { jobConsole } from './0002-job-console.migration';
import { clusterKey } from './0003-cluster-key.migration';
import { outputsAndSources } from './0004-outputs-and-sources.migration';
import { schedulerRunners } from './0005-scheduler-runners.migration';
import { eventPruning } from './0006-event-pruning.migration';
import { eventFeedPosition } from './0007-event-feed-position.migration';
import { eventNotifyCreatedAt } from './0009-event-notify-created-at.migration';
import { eventNotifyClusterChannels } from './0013-event-notify-cluster-channels.migration';
import { eventNotifyOncePerChannel } from './0014-event-notify-once-per-channel.migration';
import { eventClusterPosition } from './0015-event-cluster-position.migration';
import { jobImages } from './0016-job-images.migration';
import { publicKeysOnly } from './0017-public-keys-only.migration';
import { protectedClusters } from './0018-protected-clusters.migration';
import { projectMembers } from './0019-project-members.migration';
import { sourceUploads } from './0020-source-uploads.migration';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Applied in order. Never edit a released migration: add the next one. */
export const migrations: readonly Migration[] = [
  initial,
  jobConsole,
  clusterKey,
  outputsAndSources,
  schedulerRunners,
  eventPruning,
  eventFeedPosition,
  eventNotifyCreatedAt,
  eventNotifyClusterChannels,
  eventNotifyOncePerChannel,
  eventClusterPosition,
  jobImages,
  publicKeysOnly,
  protectedClusters,
  projectMembers,
  sourceUploads,
];
