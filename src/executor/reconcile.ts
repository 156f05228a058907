/**
 * The executor's decisions and its one side effect on the kernel.
 *
 * `decideAction` is pure: given the NodeFirewall spec (or none) and what the
 * executor knows about the kernel, apply, restore, refuse or do nothing. It
 * takes the script from `spec.script` or decompresses `spec.scriptGzip`
 * (refusing one that does not decode, `DecodeFailed`), and refuses a script
 * whose sha256 is not `spec.scriptHash` (a truncated write, a hand edit, a
 * bug: never load what the controller did not sign off on), and does nothing
 * when that exact script is already in force and the live table is as it was
 * applied — so a restart or a status-only update never reloads the ruleset
 * (which would also reset its counters). When the live table drifted and the
 * spec's own script cannot be loaded now (no NodeFirewall, a refused script,
 * or one nft rejected whose retry is not due), it restores the last script
 * that loaded: a tampered table never stays tampered for want of a new one.
 *
 * `findAdoptable` is the other decision, made once after a restart: the table
 * a predecessor applied is still there and the status says so; adopt it
 * instead of reloading.
 *
 * `runAction` loads a script through the {@link NodeTable}: one transaction,
 * so a rejected script leaves the previous ruleset in force. Right after a
 * successful load it reads the table back; that normalized form is the
 * reference the drift check compares against.
 */
import { NftError } from '../nft/apply.js';
import { hashScript } from '../nft/hash.js';
import { parseRuleset, type NormalizedTable } from '../nft/ruleset.js';
import type { NodeFirewallSpec, NodeFirewallStatus } from '../k8s/nodefirewall.js';
import { decodeSpecScript, type DecodedScript } from '../k8s/script-encoding.js';
import type { NodeTable } from './node-table.js';

/** What the executor knows about the kernel when deciding. */
export interface KernelState {
  /** Hash of the script this executor last loaded (or adopted at start), or null. */
  readonly appliedHash: string | null;
  /** The live table equals the reference read after that load. */
  readonly tableInSync: boolean;
  /** Hash of the last script nft rejected, or null. */
  readonly failedHash: string | null;
  /** The back-off after that rejection has elapsed (a retry is allowed). */
  readonly retryDue: boolean;
  /**
   * The script of `appliedHash`: what a restore loads. Absent or null:
   * nothing to restore.
   */
  readonly appliedScript?: string | null;
}

/**
 * Why a script is loaded: a new spec, a repair of drift, a retry after nft
 * rejected it, or a member delta nft rejected (the whole script instead).
 */
export type ApplyCause = 'changed' | 'repair' | 'retry' | 'members';

/** Why the last good script is loaded again instead of the spec's. */
export type RestoreWhy = 'NoNodeFirewall' | 'HashMismatch' | 'DecodeFailed' | 'RetryPending';

/** Load the spec's script. */
export interface ApplyAction {
  readonly kind: 'apply';
  readonly script: string;
  readonly hash: string;
  readonly cause: ApplyCause;
}

/** Load the last script that loaded, on a drifted table (it is a repair). */
export interface RestoreAction {
  readonly kind: 'restore';
  readonly script: string;
  readonly hash: string;
  readonly why: RestoreWhy;
}

/** The decision. */
export type Action =
  | ApplyAction
  | RestoreAction
  | {
      readonly kind: 'refuse';
      readonly reason: 'HashMismatch';
      /** `spec.scriptHash`. */
      readonly declared: string;
      /** sha256 of the script (`spec.script`, or `spec.scriptGzip` decompressed). */
      readonly actual: string;
      /** Present when the table drifted: restore the last good script too. */
      readonly restore?: RestoreAction;
    }
  | {
      readonly kind: 'refuse';
      readonly reason: 'DecodeFailed';
      /** Why `spec.scriptGzip` could not be decompressed (one sentence). */
      readonly message: string;
      /** Present when the table drifted: restore the last good script too. */
      readonly restore?: RestoreAction;
    }
  | { readonly kind: 'none'; readonly why: 'UpToDate' | 'RetryPending' | 'NoNodeFirewall' };

/** The spec fields a decision reads. */
export type SpecScript = Pick<NodeFirewallSpec, 'script' | 'scriptGzip' | 'scriptHash'>;

/**
 * Decides what to do about `spec`. Pure (decompression aside).
 *
 * - no NodeFirewall (`spec` null) → restore on a drifted table
 *   (`NoNodeFirewall`), else none (`NoNodeFirewall`);
 * - `spec.scriptGzip` that does not decompress (or set together with
 *   `spec.script`) → refuse (`DecodeFailed`), with a restore on a drifted table;
 * - hash of the script ≠ `spec.scriptHash` → refuse (`HashMismatch`), with a
 *   restore on a drifted table;
 * - same hash already in force and the table in sync → none (`UpToDate`);
 * - same hash in force, table drifted → apply (`repair`);
 * - the hash nft rejected last time, back-off elapsed → apply (`retry`);
 *   not elapsed → restore on a drifted table (`RetryPending`), else none
 *   (`RetryPending`);
 * - otherwise → apply (`changed`).
 *
 * A restore needs something to restore: `state.appliedScript`.
 *
 * @param decoded `decodeSpecScript(spec)`, when the caller already has it
 *   (decompressing a large script costs milliseconds).
 */
export function decideAction(
  spec: SpecScript | null,
  state: KernelState,
  decoded: DecodedScript | null = spec === null ? null : decodeSpecScript(spec),
): Action {
  if (spec === null || decoded === null) {
    return restoreOf(state, 'NoNodeFirewall') ?? { kind: 'none', why: 'NoNodeFirewall' };
  }
  if (decoded.kind === 'failed') {
    const restore = restoreOf(state, 'DecodeFailed');
    return {
      kind: 'refuse',
      reason: 'DecodeFailed',
      message: decoded.message,
      ...(restore === null ? {} : { restore }),
    };
  }
  const script = decoded.script;
  const actual = hashScript(script);
  if (actual !== spec.scriptHash) {
    const restore = restoreOf(state, 'HashMismatch');
    return {
      kind: 'refuse',
      reason: 'HashMismatch',
      declared: spec.scriptHash,
      actual,
      ...(restore === null ? {} : { restore }),
    };
  }
  const apply = (cause: ApplyCause): Action => ({ kind: 'apply', script, hash: actual, cause });
  if (state.appliedHash === actual)
    return state.tableInSync ? { kind: 'none', why: 'UpToDate' } : apply('repair');
  if (state.failedHash === actual) {
    if (state.retryDue) return apply('retry');
    return restoreOf(state, 'RetryPending') ?? { kind: 'none', why: 'RetryPending' };
  }
  return apply('changed');
}

/** The restore of the last good script when the table drifted and there is one; else null. */
function restoreOf(state: KernelState, why: RestoreWhy): RestoreAction | null {
  if (state.tableInSync || state.appliedHash === null) return null;
  if (state.appliedScript === undefined || state.appliedScript === null) return null;
  return { kind: 'restore', script: state.appliedScript, hash: state.appliedHash, why };
}

/** A script found in force at start, to adopt instead of reloading. */
export interface Adoptable {
  readonly hash: string;
  readonly script: string;
  /** `status.lastAppliedTime`, or null when the status has none. */
  readonly at: Date | null;
}

/**
 * The script to adopt after a restart, when the table exists: the status
 * says the spec's hash is applied and the spec's script really has that hash.
 * Else null. Pure.
 */
export function findAdoptable(
  spec: SpecScript,
  status: NodeFirewallStatus | undefined,
  decoded: DecodedScript,
): Adoptable | null {
  if (status?.appliedHash !== spec.scriptHash) return null;
  if (decoded.kind !== 'decoded' || hashScript(decoded.script) !== spec.scriptHash) return null;
  const at = status.lastAppliedTime;
  return {
    hash: spec.scriptHash,
    script: decoded.script,
    at: at === undefined ? null : new Date(at),
  };
}

/** The result of loading a script. */
export type ApplyResult =
  | {
      readonly kind: 'applied';
      readonly hash: string;
      /** The table as read back right after the load; null if the read failed. */
      readonly reference: NormalizedTable | null;
      readonly durationMs: number;
    }
  | {
      readonly kind: 'failed';
      readonly hash: string;
      /** nft's stderr (or the error message when nft did not run). */
      readonly error: string;
      readonly durationMs: number;
    };

/** What {@link runAction} needs. */
export interface RunDeps {
  readonly table: NodeTable;
  /** Monotonic milliseconds, for the duration. @default performance.now */
  readonly stopwatch?: () => number;
}

/**
 * Loads `action.script` (an apply or a restore) and reads the table back.
 * Never throws for nft failures: they are the `failed` result.
 */
export async function runAction(
  action: Pick<ApplyAction, 'script' | 'hash'>,
  deps: RunDeps,
): Promise<ApplyResult> {
  const stopwatch = deps.stopwatch ?? (() => performance.now());
  const started = stopwatch();
  try {
    await deps.table.load(action.script);
  } catch (err) {
    return {
      kind: 'failed',
      hash: action.hash,
      error: err instanceof NftError && err.stderr.trim() !== '' ? err.stderr : String(err),
      durationMs: stopwatch() - started,
    };
  }
  const durationMs = stopwatch() - started;
  let reference: NormalizedTable | null;
  try {
    reference = parseRuleset(await deps.table.list()).table;
  } catch {
    reference = null; // the drift check adopts the live table on its next read
  }
  return { kind: 'applied', hash: action.hash, reference, durationMs };
}
