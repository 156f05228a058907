/**
 * The executor's one decision and its one side effect on the kernel.
 *
 * `decideAction` is pure: given the NodeFirewall spec and what the executor
 * knows about the kernel, apply, refuse or do nothing. It takes the script
 * from `spec.script` or decompresses `spec.scriptGzip` (refusing one that
 * does not decode, `DecodeFailed`), and refuses a script
 * whose sha256 is not `spec.scriptHash` (a truncated write, a hand edit, a
 * bug: never load what the controller did not sign off on), and does nothing
 * when that exact script is already in force and the live table is as it was
 * applied — so a restart or a status-only update never reloads the ruleset
 * (which would also reset its counters).
 *
 * `runAction` loads the script with `nft -f -`: one transaction, so a
 * rejected script leaves the previous ruleset in force. Right after a
 * successful load it reads the table back; that normalized form is the
 * reference the drift check compares against.
 */
import { applyScript, listTable, NftError, type NftOptions } from '../nft/apply.js';
import { hashScript } from '../nft/render.js';
import { parseRuleset, type NormalizedTable } from '../nft/ruleset.js';
import type { NodeFirewallSpec } from '../k8s/nodefirewall.js';
import { decodeSpecScript, type DecodedScript } from '../k8s/script-encoding.js';

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
}

/** Why a script is loaded. */
export type ApplyCause = 'changed' | 'repair' | 'retry';

/** The decision. */
export type Action =
  | {
      readonly kind: 'apply';
      readonly script: string;
      readonly hash: string;
      readonly cause: ApplyCause;
    }
  | {
      readonly kind: 'refuse';
      readonly reason: 'HashMismatch';
      /** `spec.scriptHash`. */
      readonly declared: string;
      /** sha256 of the script (`spec.script`, or `spec.scriptGzip` decompressed). */
      readonly actual: string;
    }
  | {
      readonly kind: 'refuse';
      readonly reason: 'DecodeFailed';
      /** Why `spec.scriptGzip` could not be decompressed (one sentence). */
      readonly message: string;
    }
  | { readonly kind: 'none'; readonly why: 'UpToDate' | 'RetryPending' };

/**
 * Decides what to do about `spec`. Pure (decompression aside).
 *
 * - `spec.scriptGzip` that does not decompress (or set together with
 *   `spec.script`) → refuse (`DecodeFailed`);
 * - hash of the script ≠ `spec.scriptHash` → refuse (`HashMismatch`);
 * - same hash already in force and the table in sync → none (`UpToDate`);
 * - same hash in force, table drifted → apply (`repair`);
 * - the hash nft rejected last time, back-off not elapsed → none (`RetryPending`);
 *   elapsed → apply (`retry`);
 * - otherwise → apply (`changed`).
 *
 * @param decoded `decodeSpecScript(spec)`, when the caller already has it
 *   (decompressing a large script costs milliseconds).
 */
export function decideAction(
  spec: Pick<NodeFirewallSpec, 'script' | 'scriptGzip' | 'scriptHash'>,
  state: KernelState,
  decoded: DecodedScript = decodeSpecScript(spec),
): Action {
  if (decoded.kind === 'failed') {
    return { kind: 'refuse', reason: 'DecodeFailed', message: decoded.message };
  }
  const script = decoded.script;
  const actual = hashScript(script);
  if (actual !== spec.scriptHash) {
    return { kind: 'refuse', reason: 'HashMismatch', declared: spec.scriptHash, actual };
  }
  const apply = (cause: ApplyCause): Action => ({
    kind: 'apply',
    script,
    hash: actual,
    cause,
  });
  if (state.appliedHash === actual)
    return state.tableInSync ? { kind: 'none', why: 'UpToDate' } : apply('repair');
  if (state.failedHash === actual) {
    return state.retryDue ? apply('retry') : { kind: 'none', why: 'RetryPending' };
  }
  return apply('changed');
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
  readonly nft: NftOptions;
  /** Monotonic milliseconds, for the duration. @default performance.now */
  readonly clock?: () => number;
}

/**
 * Loads `action.script` with `nft -f -` and reads the table back.
 * Never throws for nft failures: they are the `failed` result.
 */
export async function runAction(
  action: Extract<Action, { kind: 'apply' }>,
  deps: RunDeps,
): Promise<ApplyResult> {
  const clock = deps.clock ?? (() => performance.now());
  const started = clock();
  try {
    await applyScript(action.script, deps.nft);
  } catch (err) {
    return {
      kind: 'failed',
      hash: action.hash,
      error: err instanceof NftError && err.stderr.trim() !== '' ? err.stderr : String(err),
      durationMs: clock() - started,
    };
  }
  const durationMs = clock() - started;
  let reference: NormalizedTable | null;
  try {
    reference = parseRuleset(await listTable(deps.nft)).table;
  } catch {
    reference = null; // the drift check adopts the live table on its next read
  }
  return { kind: 'applied', hash: action.hash, reference, durationMs };
}
