import type { NeededCopy } from '@infrabox/jobs';
import type { TransferDirection, TransferKind } from './transfer.metrics';

/** One move of a copy: the bytes sent, and the log line of the transfer (null: another copy was recorded first). */
export interface MoveResult {
  bytes: number;
  report: ((seconds: number) => string) | null;
}

/** A failed transfer, as logged and as noted on the jobs waiting for it. */
export interface TransferFailure {
  log: string;
  /** The jobs waiting for it: the children of a job (`parentId`), or the jobs of a build. */
  waiting: { parentId: string } | { buildId: string };
  /** The cluster of those jobs. */
  cluster: string;
  note: string;
}

/**
 * What a kind of copy is to the output-forwarder: which copies are needed where, which clusters
 * hold one (the holders a copy may be made from), how bytes move from a holder to a cluster (and
 * are recorded there), and the words its log uses.
 */
export interface TransferStrategy<C extends { cluster: string } = { cluster: string }> {
  readonly kind: TransferKind;
  logFields(id: string): Record<string, string>;
  /** Copies to make where `cluster` holds the artifact or needs it. */
  neededCopies(cluster: string): Promise<NeededCopy[]>;
  /** The copies others are made from, the preferred first; none: nothing to move. */
  holders(id: string): Promise<C[]>;
  /** Whether `cluster` holds a copy. */
  held(id: string, cluster: string): Promise<boolean>;
  /** Moves `from`'s bytes to `to` (a pull records them `to`; a push leaves that to `to`). */
  move(id: string, from: C, to: string, direction: TransferDirection): Promise<MoveResult>;
  /** "pull of job …'s output from …": what a retried attempt is called. */
  attempt(id: string, from: string, to: string, direction: TransferDirection): string;
  failure(id: string, from: string | null, to: string, direction: TransferDirection, reason: string): TransferFailure;
}

export const TRANSFER_STRATEGIES = Symbol('TRANSFER_STRATEGIES');
