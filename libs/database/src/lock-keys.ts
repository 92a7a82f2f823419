import { createHash } from 'node:crypto';

/**
 * Every PostgreSQL advisory-lock key of the installation, in one place. The fixed keys are the
 * same in every process of every cluster and must never change between releases (a running
 * old process and a new one must contend for the same lock); the named keys are derived from a
 * name, for locks whose holders are many (one per leader duty, one per transfer claim).
 */
export const LOCK_KEYS = {
  /** Taken while migrations run: several apps of several clusters start at once. */
  migrations: 7_286_133_401,
  /** Elects the one liveness sweeper of the installation (registry). */
  livenessSweep: 7_286_133_402,
  /** Elects the one event pruner of the installation (registry). */
  eventPruning: 7_286_133_406,
  /** The placement sweep of old unplaced builds, one transaction at a time (scheduler). */
  placementSweep: 7_286_133_407,
} as const;

/** Namespaces of the derived keys: a key is `lockKeyOf(<namespace>, <name>)`. */
export type LockNamespace = 'leader' | 'transfer';

/**
 * A stable advisory-lock key for a name (63 bits, positive), the same in every process: leader
 * duties (`leader`, keyed by the duty's name) and the forwarder's transfer claims (`transfer`).
 */
export function lockKeyOf(namespace: LockNamespace, name: string): bigint {
  // `leader` keeps the derivation keys have had since the first release.
  const text = namespace === 'leader' ? `infrabox leader:${name}` : `infrabox leader:transfer:${name}`;
  return createHash('sha256').update(text).digest().readBigUInt64BE(0) >> 1n;
}
