/**
 * What the executor reports: its view of the node (host usable? script in
 * force? table as applied?) → the NodeFirewall status, conditions included.
 * One pure function of that view, so every combination is a table row in
 * the unit tests and the status written is always the whole truth, never an
 * accumulation of partial patches.
 *
 * Conditions (docs/executor.md explains each reason and what to do):
 *  - `Applied`: the spec's script is what the kernel has (`Applied`), or why
 *    not (`ApplyFailed`, `HashMismatch`, `DecodeFailed`, `NotAttempted`).
 *  - `InSync`: the live table equals what was applied (`InSync`), was found
 *    changed (`Drifted`) or was changed and restored (`Repaired`).
 *  - `SetsReady`: every AddressSet the script declares has arrived and its
 *    members are valid (`SetsReady`), or sets are still missing after the
 *    wait and loaded empty (`SetsMissing`), or members were skipped
 *    (`InvalidMembers`).
 *  - `HostUsable`: the start-up probe's verdict (`HostUsable` / `HostUnusable`).
 *  - `Ready`: the node enforces its current policy (`Ready`), or not
 *    (`HostUnusable`, `NotApplied`, `SetsMissing`, `InvalidMembers`).
 *
 * PURE: the caller passes `now` and the previous conditions; transition
 * times move only when a condition's status changes (setCondition).
 */
import { setCondition, type Condition, type ConditionStatus } from '../k8s/conditions.js';
import type { NodeFirewallStatus } from '../k8s/nodefirewall.js';
import type { DecodedScript } from '../k8s/script-encoding.js';
import { hashScript } from '../nft/hash.js';
import type { Action } from './reconcile.js';
import type { InvalidMember } from './set-members.js';

/** The host probe's verdict. */
export type HostState =
  | { readonly usable: true }
  | { readonly usable: false; readonly message: string }
  | { readonly usable: 'unknown' };

/** Whether the spec's script is in force. */
export type ApplyState =
  | { readonly kind: 'applied'; readonly hash: string }
  | { readonly kind: 'failed'; readonly hash: string; readonly error: string }
  | { readonly kind: 'hashMismatch'; readonly declared: string; readonly actual: string }
  | { readonly kind: 'decodeFailed'; readonly message: string }
  | { readonly kind: 'notAttempted'; readonly why: string };

/** The drift check's verdict about the live table. */
export type SyncState =
  | { readonly kind: 'inSync' }
  | { readonly kind: 'drifted'; readonly summary: string }
  | { readonly kind: 'repaired'; readonly summary: string }
  | { readonly kind: 'unknown' };

/**
 * The AddressSets of the script: all there with valid members, or some
 * missing after the wait (loaded empty), or some members skipped.
 */
export type SetsState =
  | { readonly kind: 'ready' }
  | {
      readonly kind: 'missing';
      /** Ids with no slice, sorted. */
      readonly ids: readonly string[];
      readonly invalid: readonly InvalidMember[];
    }
  | { readonly kind: 'invalid'; readonly invalid: readonly InvalidMember[] };

/** Everything the status is computed from. */
export interface Outcome {
  readonly host: HostState;
  readonly apply: ApplyState;
  readonly sync: SyncState;
  /** @default { kind: 'ready' } (a script without shared sets) */
  readonly sets?: SetsState;
}

/** Condition types, in the order they are listed. */
export const CONDITION_TYPES = ['Applied', 'InSync', 'SetsReady', 'HostUsable', 'Ready'] as const;

/** Set ids or skipped members named in a message, at most. */
export const MESSAGE_ITEMS = 10;

/** Lines of nft's error kept in a message (the whole stderr can be thousands of lines). */
export const ERROR_LINES = 5;
/** Characters of nft's error kept in a message. */
export const ERROR_CHARS = 1000;

/** The first {@link ERROR_LINES} lines of an error text, at most {@link ERROR_CHARS} characters. */
export function firstLines(text: string): string {
  const lines = text.trim().split('\n');
  let out = lines.slice(0, ERROR_LINES).join('\n');
  if (out.length > ERROR_CHARS) out = `${out.slice(0, ERROR_CHARS)}…`;
  else if (lines.length > ERROR_LINES) out += `\n… (${lines.length - ERROR_LINES} more lines)`;
  return out;
}

const shortHash = (hash: string): string => hash.replace(/^sha256:/, '').slice(0, 12);

/**
 * The conditions for `outcome`, computed over `previous` so that
 * `lastTransitionTime` is kept for every condition whose status did not change.
 *
 * @param generation the `metadata.generation` the outcome was computed for;
 *   stored as each condition's `observedGeneration`.
 */
export function conditionsFor(
  outcome: Outcome,
  generation: number,
  now: Date,
  previous: readonly Condition[] = [],
): readonly Condition[] {
  const set = (
    conditions: readonly Condition[],
    type: (typeof CONDITION_TYPES)[number],
    status: ConditionStatus,
    reason: string,
    message: string,
  ): readonly Condition[] =>
    setCondition(
      conditions,
      { type, status, reason, message, observedGeneration: generation },
      now,
    );

  let c = previous;
  const { host, apply, sync } = outcome;
  const sets = outcome.sets ?? { kind: 'ready' };
  switch (apply.kind) {
    case 'applied':
      c = set(c, 'Applied', 'True', 'Applied', `script ${shortHash(apply.hash)} is in force`);
      break;
    case 'failed':
      c = set(
        c,
        'Applied',
        'False',
        'ApplyFailed',
        `nft rejected script ${shortHash(apply.hash)}; the previous ruleset stays in force: ${firstLines(apply.error)}`,
      );
      break;
    case 'hashMismatch':
      c = set(
        c,
        'Applied',
        'False',
        'HashMismatch',
        `spec.scriptHash ${apply.declared} does not match the script's ${apply.actual}; nothing was applied`,
      );
      break;
    case 'decodeFailed':
      c = set(
        c,
        'Applied',
        'False',
        'DecodeFailed',
        `${firstLines(apply.message)}; nothing was applied`,
      );
      break;
    case 'notAttempted':
      c = set(c, 'Applied', 'Unknown', 'NotAttempted', apply.why);
      break;
  }
  switch (sync.kind) {
    case 'inSync':
      c = set(c, 'InSync', 'True', 'InSync', 'the live table matches the applied script');
      break;
    case 'drifted':
      c = set(c, 'InSync', 'False', 'Drifted', `the live table changed: ${sync.summary}`);
      break;
    case 'repaired':
      c = set(c, 'InSync', 'True', 'Repaired', `restored the table after drift: ${sync.summary}`);
      break;
    case 'unknown':
      c = set(c, 'InSync', 'Unknown', 'NotChecked', 'no script applied by this executor yet');
      break;
  }
  switch (sets.kind) {
    case 'ready':
      c = set(c, 'SetsReady', 'True', 'SetsReady', 'every AddressSet the script uses is loaded');
      break;
    case 'missing':
      c = set(c, 'SetsReady', 'False', 'SetsMissing', setsMissingMessage(sets.ids, sets.invalid));
      break;
    case 'invalid':
      c = set(c, 'SetsReady', 'False', 'InvalidMembers', invalidMessage(sets.invalid));
      break;
  }
  if (host.usable === true) {
    c = set(c, 'HostUsable', 'True', 'HostUsable', 'nft and the kernel support the ruleset');
  } else if (host.usable === false) {
    c = set(c, 'HostUsable', 'False', 'HostUnusable', host.message);
  } else {
    c = set(c, 'HostUsable', 'Unknown', 'NotProbed', 'the host has not been probed yet');
  }
  if (host.usable === false) {
    c = set(c, 'Ready', 'False', 'HostUnusable', `policy is not enforced: ${host.message}`);
  } else if (apply.kind !== 'applied') {
    c = set(c, 'Ready', 'False', 'NotApplied', 'the current script is not in force');
  } else if (sync.kind === 'drifted') {
    c = set(c, 'Ready', 'False', 'NotApplied', 'the live table drifted from the applied script');
  } else if (sets.kind === 'missing') {
    c = set(
      c,
      'Ready',
      'False',
      'SetsMissing',
      `the script is in force, but ${count(sets.ids.length, 'AddressSet')} it uses ${sets.ids.length === 1 ? 'is' : 'are'} missing: their peers match nothing`,
    );
  } else if (sets.kind === 'invalid') {
    c = set(
      c,
      'Ready',
      'False',
      'InvalidMembers',
      `the script is in force without ${count(sets.invalid.length, 'invalid AddressSet member')}`,
    );
  } else {
    c = set(c, 'Ready', 'True', 'Ready', 'the current script is in force');
  }
  return c;
}

const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** At most {@link MESSAGE_ITEMS} of `items`, then how many more. */
function listed(items: readonly string[], separator: string): string {
  const shown = items.slice(0, MESSAGE_ITEMS).join(separator);
  return items.length > MESSAGE_ITEMS
    ? `${shown}${separator}and ${items.length - MESSAGE_ITEMS} more`
    : shown;
}

function setsMissingMessage(ids: readonly string[], invalid: readonly InvalidMember[]): string {
  const missing = `${count(ids.length, 'AddressSet')} not found after waiting, loaded empty (their peers match nothing until they arrive): ${listed(ids, ', ')}`;
  return invalid.length === 0 ? missing : `${missing}; ${invalidMessage(invalid)}`;
}

function invalidMessage(invalid: readonly InvalidMember[]): string {
  const items = invalid.map((m) => `slice ${m.slice}: ${m.message}`);
  return `skipped ${count(invalid.length, 'invalid member')}: ${listed(items, '; ')}`;
}

/** Inputs of {@link statusFor} besides the outcome. */
export interface StatusFacts {
  readonly generation: number;
  /** Hash of the script in the kernel (may be an older one after a failed apply), or null. */
  readonly appliedHash: string | null;
  /** When that script was applied, or null. */
  readonly lastAppliedTime: Date | null;
  /** `nft --version` text, or null when unknown. */
  readonly nftVersion: string | null;
  readonly now: Date;
  /** The conditions currently in the API object. */
  readonly previous: readonly Condition[];
}

/** The whole status subresource for `outcome`. */
export function statusFor(outcome: Outcome, facts: StatusFacts): NodeFirewallStatus {
  return {
    observedGeneration: facts.generation,
    ...(facts.appliedHash === null ? {} : { appliedHash: facts.appliedHash }),
    ...(facts.lastAppliedTime === null
      ? {}
      : { lastAppliedTime: facts.lastAppliedTime.toISOString().replace(/\.\d{3}Z$/, 'Z') }),
    ...(facts.nftVersion === null ? {} : { nftVersion: facts.nftVersion }),
    conditions: conditionsFor(outcome, facts.generation, facts.now, facts.previous),
  };
}

/** A refusal {@link applyStateOf} reports as it was decided. */
export type Refusal = Extract<Action, { kind: 'refuse' }>;

/**
 * Whether the spec's script (hash `scriptHash`, decoded as `decoded`) is in
 * force, from what the executor knows: the script it last loaded, the one nft
 * last rejected, and the refusal decided in this pass (which wins: a
 * mismatched script is reported as such even when its declared hash is the
 * one in force).
 */
export function applyStateOf(
  scriptHash: string,
  decoded: DecodedScript,
  known: {
    readonly appliedHash: string | null;
    readonly failed: { readonly hash: string; readonly error: string } | null;
  },
  refused: Refusal | null,
): ApplyState {
  if (refused !== null)
    return refused.reason === 'DecodeFailed'
      ? { kind: 'decodeFailed', message: refused.message }
      : { kind: 'hashMismatch', declared: refused.declared, actual: refused.actual };
  if (decoded.kind === 'failed') return { kind: 'decodeFailed', message: decoded.message };
  if (known.appliedHash === scriptHash) return { kind: 'applied', hash: scriptHash };
  const actual = hashScript(decoded.script);
  if (actual !== scriptHash) return { kind: 'hashMismatch', declared: scriptHash, actual };
  if (known.failed !== null && known.failed.hash === scriptHash)
    return { kind: 'failed', hash: scriptHash, error: known.failed.error };
  return { kind: 'notAttempted', why: 'the script has not been applied yet' };
}
