import { LOCK_KEYS } from '@infrabox/database';

/** Timings of the registry; the defaults are the production values, tests shorten them. */
export interface RegistryOptions {
  /** How often this cluster refreshes its heartbeat. */
  heartbeatIntervalMs: number;
  /** A cluster whose heartbeat is older than this is reported lost. */
  heartbeatTimeoutMs: number;
  /** How often the leader looks for lost clusters (and the others try to become leader). */
  sweepIntervalMs: number;
  /** Advisory lock key that elects the one sweeper of the installation. */
  sweepLockKey: bigint | number;
  /** How often this cluster probes every other active cluster's API. */
  probeIntervalMs: number;
  probeTimeoutMs: number;
  /** How often the event pruner runs (and the other registries try to become its leader). */
  eventPruneIntervalMs: number;
  /** Advisory lock key that elects the one event pruner of the installation. */
  eventPruneLockKey: bigint | number;
  /** Rows deleted per statement; a run repeats until fewer are left. */
  eventPruneBatchSize: number;
}

export const REGISTRY_OPTIONS = Symbol('REGISTRY_OPTIONS');

export const DEFAULT_REGISTRY_OPTIONS: Readonly<RegistryOptions> = {
  heartbeatIntervalMs: 5_000,
  heartbeatTimeoutMs: 30_000,
  sweepIntervalMs: 5_000,
  sweepLockKey: LOCK_KEYS.livenessSweep,
  probeIntervalMs: 10_000,
  probeTimeoutMs: 2_000,
  eventPruneIntervalMs: 60_000,
  eventPruneLockKey: LOCK_KEYS.eventPruning,
  eventPruneBatchSize: 5_000,
};
