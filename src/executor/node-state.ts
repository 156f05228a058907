/**
 * What the executor knows about its node, as one record, and the pure
 * transitions the reconciler (reconciler.ts) makes on it: a new view of the
 * NodeFirewall, a script loaded or rejected, a member delta loaded, drift
 * found, a table adopted. Each returns a new record; nothing here does I/O
 * or reads a clock.
 */
import type { NodeFirewall } from '../k8s/nodefirewall.js';
import type { NormalizedTable } from '../nft/ruleset.js';
import type { ProbeResult } from './host-probe.js';
import type { Adoptable, KernelState } from './reconcile.js';
import type { HostState, SyncState } from './status.js';

/** Timers may fire a millisecond early; a deadline they were set for has come. */
export const TIMER_SLACK_MS = 20;

/** The script in the kernel that this executor loaded or adopted. */
export interface Applied {
  readonly hash: string;
  /** The rules script (the spec's, without members). */
  readonly script: string;
  /**
   * The members of the shared sets the script declares, by set id, as last
   * loaded (by the full load or a delta since): what the kernel holds.
   */
  readonly members: ReadonlyMap<string, readonly string[]>;
  /** The table as read back after the load; null until a read succeeds. */
  readonly reference: NormalizedTable | null;
  /** When it was loaded (wall clock); null when adopted without a time. */
  readonly at: Date | null;
}

/** The last script nft rejected. */
export interface Failed {
  readonly hash: string;
  /** nft's stderr. */
  readonly error: string;
  /** When a retry is due (clock milliseconds). */
  readonly retryAt: number;
}

/** Everything the reconciler knows; replaced, never mutated. */
export interface NodeState {
  /** The NodeFirewall as the watch last delivered it; null before it exists or once deleted. */
  readonly object: NodeFirewall | null;
  /** The host probe's last verdict; null before the first. */
  readonly host: ProbeResult | null;
  /** The last script that loaded (the one a restore loads again), or null. */
  readonly applied: Applied | null;
  readonly failed: Failed | null;
  readonly sync: SyncState;
  /** "No NodeFirewall yet" was logged and not since contradicted. */
  readonly reportedMissing: boolean;
  /** Number of `nft -f` loads made (full loads and member deltas). */
  readonly applyCount: number;
}

/** The state of an executor that has just started. */
export const INITIAL_STATE: NodeState = {
  object: null,
  host: null,
  applied: null,
  failed: null,
  sync: { kind: 'unknown' },
  reportedMissing: false,
  applyCount: 0,
};

/** Which script a load was: the spec's, or the last good one restored in its place. */
export type LoadKind = 'spec' | 'restore';

/**
 * `script` loaded; it is now the last good one. The spec's script loaded
 * forgets any rejection; a restore keeps it (the spec's script is still
 * rejected and waits for its retry). Loaded on a drifted table (`drift` its
 * summary), it repaired it.
 */
export function afterLoaded(
  s: NodeState,
  loaded: Omit<Applied, 'at'>,
  at: Date,
  drift: string | null,
  kind: LoadKind,
): NodeState {
  return {
    ...s,
    applied: { ...loaded, at },
    failed: kind === 'restore' && s.failed?.hash !== loaded.hash ? s.failed : null,
    sync: drift === null ? { kind: 'inSync' } : { kind: 'repaired', summary: drift },
  };
}

/** A member delta loaded: the kernel's sets now hold `members`; the rest stays. */
export function afterMembers(
  s: NodeState,
  members: ReadonlyMap<string, readonly string[]>,
): NodeState {
  return s.applied === null ? s : { ...s, applied: { ...s.applied, members } };
}

/** nft rejected the script `hash`; the previous ruleset stays, a retry is due at `retryAt`. */
export function afterRejected(
  s: NodeState,
  hash: string,
  error: string,
  retryAt: number,
): NodeState {
  return { ...s, failed: { hash, error, retryAt } };
}

/** The live table differs from the reference. */
export function afterDrift(s: NodeState, summary: string): NodeState {
  return { ...s, sync: { kind: 'drifted', summary } };
}

/**
 * A predecessor's table adopted after a restart, `table` as its reference
 * and `members` (read from it) as the members in force.
 */
export function afterAdopted(
  s: NodeState,
  found: Adoptable,
  table: NormalizedTable,
  members: ReadonlyMap<string, readonly string[]>,
): NodeState {
  return { ...s, applied: { ...found, reference: table, members }, sync: { kind: 'inSync' } };
}

/** The live table as the reference of a load whose read-back failed. */
export function withReference(s: NodeState, table: NormalizedTable): NodeState {
  return s.applied === null || s.applied.reference !== null
    ? s
    : { ...s, applied: { ...s.applied, reference: table } };
}

/** What `decideAction` is told, at clock time `nowMs`, with the drift found in this pass. */
export function kernelStateOf(s: NodeState, drift: string | null, nowMs: number): KernelState {
  return {
    appliedHash: s.applied?.hash ?? null,
    appliedScript: s.applied?.script ?? null,
    tableInSync: drift === null,
    failedHash: s.failed?.hash ?? null,
    retryDue: s.failed !== null && nowMs + TIMER_SLACK_MS >= s.failed.retryAt,
  };
}

/** The probe's verdict as the status reports it. */
export function hostStateOf(host: ProbeResult | null): HostState {
  if (host === null) return { usable: 'unknown' };
  return host.usable ? { usable: true } : { usable: false, message: host.message };
}
