/**
 * The members of the shared peer sets a node's script declares, from the
 * AddressSet slices the executor watches (set-watch.ts), and the plan of
 * what each set holds now — including the bounded wait for sets that have
 * not arrived.
 *
 * Why a wait, and why bounded: the controller writes a set's slices before
 * the NodeFirewall that references it, and every referenced set has at least
 * one slice (maybe empty), so a set with no slice has not been *seen* yet
 * (a watch just re-targeted, a lagging cache) — loading it empty would cut
 * its peers off for a moment. But a set that never comes (a controller bug,
 * a deleted slice) must not hold the node's new rules back for ever: after
 * `--set-wait-ms` the set counts as empty (its peers match nothing: fail
 * closed) and the status says which sets are missing.
 *
 * A member that is not canonical member text for its set (parseMember) is
 * skipped, and reported with its slice; the rest of the slice stands.
 *
 * PURE: no I/O, no clock (the caller passes `nowMs`). The store is mutable
 * (the watch feeds it), but every answer for an unchanged set is the same
 * array object, so the member delta (compose.ts memberDelta) skips it at
 * once.
 */
import { addressSetKindOf } from '../k8s/addressset.js';
import { MemberError, parseMember } from '../nft/compose.js';
import { compareText } from '../policy/order.js';
import type { SetsState } from './status.js';

/** One AddressSet slice, as the executor keeps it. */
export interface Slice {
  /** `<set id>-<index>`. */
  readonly name: string;
  /** `spec.setId`. */
  readonly setId: string;
  readonly resourceVersion: string;
  /** `spec.members` (absent: empty). */
  readonly members: readonly string[];
  /** The `nftpol.io/written-at` annotation in milliseconds since the epoch, or null. */
  readonly writtenAtMs: number | null;
}

/** A member skipped because it is not a member of its set's kind. */
export interface InvalidMember {
  /** The slice it is in. */
  readonly slice: string;
  readonly member: string;
  /** What is wrong with it (parseMember's message). */
  readonly message: string;
}

/** What the reconciler reads of the AddressSets. */
export interface SetsView {
  /** The first list for the ids now watched has completed. */
  readonly listed: boolean;
  /** At least one slice of `id` has been seen. */
  has(id: string): boolean;
  /**
   * The members of `id`: the union of its slices' valid members, in slice
   * name order (unsorted, maybe with duplicates: compose sorts and dedups).
   * The same array until a slice of `id` changes.
   */
  members(id: string): readonly string[];
  /** The members of `id`'s slices that were skipped. */
  invalid(id: string): readonly InvalidMember[];
  /**
   * The slices changed (created or updated with new members) since the last
   * call, after the first list; then forgets them. For the lag metric.
   */
  takeChanged(): readonly Slice[];
}

const EMPTY: readonly string[] = Object.freeze([]);
const NO_INVALID: readonly InvalidMember[] = Object.freeze([]);

/** The view when nothing is watched: listed, no set. */
export const NO_SETS: SetsView = {
  listed: true,
  has: () => false,
  members: () => EMPTY,
  invalid: () => NO_INVALID,
  takeChanged: () => [],
};

/**
 * The AddressSets a NodeFirewall references: its `spec.addressSets`, sorted,
 * each once, without anything that is not a set id (which no label selector
 * should carry). The executor watches exactly these and waits for them; a
 * set the script declares but the spec does not list is loaded empty.
 */
export function referencedSetIds(
  spec: { readonly addressSets?: readonly string[] | undefined } | null,
): readonly string[] {
  const ids = (spec?.addressSets ?? []).filter((id) => addressSetKindOf(id) !== null);
  return [...new Set(ids)].sort(compareText);
}

/** The members of `texts` that are members of set `id`'s kind (the rest dropped). */
export function validMembers(id: string, texts: readonly string[]): readonly string[] {
  const kind = addressSetKindOf(id);
  if (kind === null) return EMPTY;
  return texts.filter((text) => {
    try {
      parseMember(text, kind);
      return true;
    } catch {
      return false;
    }
  });
}

/** A slice's members checked, kept as long as the slice object is. */
interface Checked {
  readonly valid: readonly string[];
  readonly invalid: readonly InvalidMember[];
}

/**
 * The slices of the watched sets. The watch calls {@link upsert} and
 * {@link remove} per event; a re-targeted watch calls {@link retarget},
 * then upserts what its list returns, then {@link listCompleted}.
 */
export class SliceStore implements SetsView {
  private readonly slices = new Map<string, Slice>();
  private readonly namesById = new Map<string, Set<string>>();
  private readonly union = new Map<
    string,
    { members: readonly string[]; invalid: readonly InvalidMember[] }
  >();
  private readonly checked = new WeakMap<Slice, Checked>();
  private changed = new Map<string, Slice>();
  /** Slices kept from before a re-target that the new list has not confirmed yet. */
  private unconfirmed = new Set<string>();
  private isListed = true;

  get listed(): boolean {
    return this.isListed;
  }

  has(id: string): boolean {
    return (this.namesById.get(id)?.size ?? 0) > 0;
  }

  members(id: string): readonly string[] {
    return this.unionOf(id).members;
  }

  invalid(id: string): readonly InvalidMember[] {
    return this.unionOf(id).invalid;
  }

  takeChanged(): readonly Slice[] {
    const out = [...this.changed.values()];
    this.changed = new Map();
    return out;
  }

  /**
   * A slice was added or updated. A slice whose set id is no set id is
   * ignored. @returns whether anything the reconciler reads changed.
   */
  upsert(slice: Slice): boolean {
    this.unconfirmed.delete(slice.name);
    if (addressSetKindOf(slice.setId) === null) return this.remove(slice.name);
    let old = this.slices.get(slice.name);
    if (old !== undefined && old.resourceVersion === slice.resourceVersion) return false;
    if (old !== undefined && old.setId !== slice.setId) {
      this.remove(slice.name);
      old = undefined;
    }
    this.slices.set(slice.name, slice);
    const names = this.namesById.get(slice.setId) ?? new Set<string>();
    names.add(slice.name);
    this.namesById.set(slice.setId, names);
    if (old !== undefined && sameList(old.members, slice.members)) {
      // A new resourceVersion with the same members (annotations, labels): nothing to load.
      this.checked.set(slice, this.check(old));
      return false;
    }
    this.union.delete(slice.setId);
    if (this.isListed) this.changed.set(slice.name, slice);
    return true;
  }

  /** A slice was deleted. @returns whether it was known. */
  remove(name: string): boolean {
    const old = this.slices.get(name);
    if (old === undefined) return false;
    this.slices.delete(name);
    this.namesById.get(old.setId)?.delete(name);
    if (this.namesById.get(old.setId)?.size === 0) this.namesById.delete(old.setId);
    this.union.delete(old.setId);
    this.changed.delete(name);
    return true;
  }

  /**
   * The watch now selects `ids`: slices of other sets are forgotten; those
   * of `ids` stay (the best knowledge until the new list) but are dropped by
   * {@link listCompleted} unless the new list has them.
   */
  retarget(ids: ReadonlySet<string>): void {
    for (const [name, slice] of [...this.slices]) {
      if (!ids.has(slice.setId)) this.remove(name);
    }
    this.unconfirmed = new Set(this.slices.keys());
    this.isListed = ids.size === 0;
  }

  /** The new watch's first list was delivered: drops what it did not confirm. */
  listCompleted(): void {
    for (const name of this.unconfirmed) this.remove(name);
    this.unconfirmed = new Set();
    this.isListed = true;
  }

  private unionOf(id: string): {
    members: readonly string[];
    invalid: readonly InvalidMember[];
  } {
    const cached = this.union.get(id);
    if (cached !== undefined) return cached;
    const names = [...(this.namesById.get(id) ?? [])].sort(compareText);
    const parts = names.flatMap((n) => {
      const slice = this.slices.get(n);
      return slice === undefined ? [] : [this.check(slice)];
    });
    const result = {
      members: parts.length === 0 ? EMPTY : parts.flatMap((p) => p.valid),
      invalid: parts.some((p) => p.invalid.length > 0)
        ? parts.flatMap((p) => p.invalid)
        : NO_INVALID,
    };
    this.union.set(id, result);
    return result;
  }

  private check(slice: Slice): Checked {
    const known = this.checked.get(slice);
    if (known !== undefined) return known;
    const kind = addressSetKindOf(slice.setId) ?? 'addr';
    const valid: string[] = [];
    const invalid: InvalidMember[] = [];
    for (const member of slice.members) {
      try {
        parseMember(member, kind);
        valid.push(member);
      } catch (err) {
        if (!(err instanceof MemberError)) throw err;
        invalid.push({ slice: slice.name, member, message: err.message });
      }
    }
    const result = { valid, invalid };
    this.checked.set(slice, result);
    return result;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => b[i] === x);
}

/** What {@link planSets} is given. */
export interface SetsPlanInput {
  /** The set ids the NodeFirewall references, sorted, each once ({@link referencedSetIds}). */
  readonly ids: readonly string[];
  readonly view: SetsView;
  /** When each set found missing was first found so (clock ms), from the last plan. */
  readonly missingSince: ReadonlyMap<string, number>;
  /**
   * The members of these ids now in the kernel, when the script in force is
   * this one (a missing set keeps them during its wait); null otherwise.
   */
  readonly inKernel: ReadonlyMap<string, readonly string[]> | null;
  readonly nowMs: number;
  /** `--set-wait-ms`. */
  readonly setWaitMs: number;
  /** Tolerance for a timer that fires early. @default 0 */
  readonly slackMs?: number;
}

/** What each declared set holds now, and what is still awaited. */
export interface SetsPlan {
  /**
   * Members by id, for every id: a set with slices → their members; a
   * missing set whose wait is over → empty; a missing set still awaited →
   * what the kernel has (`inKernel`), else empty.
   */
  readonly members: ReadonlyMap<string, readonly string[]>;
  /** Ids with no slice, sorted. */
  readonly missing: readonly string[];
  /** The next `missingSince` (only the missing ids). */
  readonly missingSince: ReadonlyMap<string, number>;
  /**
   * When the wait for the last missing set still awaited is over (clock ms),
   * or null when nothing is awaited (no set missing, or every wait over). A
   * new script is not loaded while this is set.
   */
  readonly waitUntil: number | null;
  /** The next time a missing set's wait ends (for a timer), or null. */
  readonly nextDeadline: number | null;
  /** Members skipped in the declared sets' slices. */
  readonly invalid: readonly InvalidMember[];
}

/** Decides what each declared set holds (see {@link SetsPlan}). */
export function planSets(input: SetsPlanInput): SetsPlan {
  const { ids, view, nowMs, setWaitMs } = input;
  const slack = input.slackMs ?? 0;
  const members = new Map<string, readonly string[]>();
  const missing: string[] = [];
  const missingSince = new Map<string, number>();
  const invalid: InvalidMember[] = [];
  let waitUntil: number | null = null;
  let nextDeadline: number | null = null;
  for (const id of ids) {
    if (view.has(id)) {
      members.set(id, view.members(id));
      invalid.push(...view.invalid(id));
      continue;
    }
    missing.push(id);
    const since = input.missingSince.get(id) ?? nowMs;
    missingSince.set(id, since);
    const deadline = since + setWaitMs;
    if (deadline <= nowMs + slack) {
      members.set(id, EMPTY);
    } else {
      members.set(id, input.inKernel?.get(id) ?? EMPTY);
      waitUntil = Math.max(waitUntil ?? deadline, deadline);
      nextDeadline = Math.min(nextDeadline ?? deadline, deadline);
    }
  }
  return { members, missing, missingSince, waitUntil, nextDeadline, invalid };
}

/**
 * What the status says about the sets of `plan`, or null while a missing
 * set is still awaited (the status is written once the wait resolves).
 */
export function setsStateOf(plan: SetsPlan): SetsState | null {
  if (plan.waitUntil !== null) return null;
  if (plan.missing.length > 0) return { kind: 'missing', ids: plan.missing, invalid: plan.invalid };
  if (plan.invalid.length > 0) return { kind: 'invalid', invalid: plan.invalid };
  return { kind: 'ready' };
}
