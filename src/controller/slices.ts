/**
 * Which AddressSet slice holds which member of a shared set, and the fewest
 * slice writes that make a set's members what the policies say. Slicing is
 * what makes a pod joining or leaving a peer cost one small write: like
 * EndpointSlices, a member stays in the slice it was put in, so a join or a
 * leave rewrites exactly one slice and never shuffles the others.
 *
 * Guarantees of a {@link SliceBook}, for every set it knows:
 *  - the set has at least one slice (the first is index 0; an empty set is
 *    one empty slice, so "empty" differs from "not written yet");
 *  - no member is in two slices, and a member never moves between slices;
 *  - a slice holds at most `sliceSize` members (an oversize slice adopted
 *    from the API is kept as it is and never filled further);
 *  - a joining member goes to the lowest-index slice with room, else to a
 *    new slice with the lowest free index;
 *  - a slice that becomes empty is deleted unless it is the set's last one
 *    (when all become empty at once, the lowest-index one stays).
 *
 * PURE: no I/O, no clock. The controller seeds the book from the slices it
 * lists at start ({@link SliceBook.adopt}), so a restart with unchanged
 * members writes nothing, and applies what {@link SliceBook.sync} returns
 * through k8s/addressset-api.ts.
 */
import type { AddressSet } from '../k8s/addressset.js';
import { sliceName } from '../k8s/addressset.js';
import { sortMembers } from '../nft/compose.js';

/** One slice as read from the API. */
export interface ObservedSlice {
  readonly setId: string;
  readonly index: number;
  readonly members: readonly string[];
}

/** One slice to write (server-side apply), members in the composed script's order. */
export interface SliceWrite {
  readonly setId: string;
  readonly index: number;
  readonly members: readonly string[];
}

/** What to do to the API to make it match the book. */
export interface SliceChanges {
  /** Slices to write, by set id then index. */
  readonly write: readonly SliceWrite[];
  /** Names (`<set id>-<index>`) of slices to delete, by set id then index. */
  readonly remove: readonly string[];
}

/** One set's slices, and where each member is. */
interface SetSlices {
  readonly slices: Map<number, Set<string>>;
  readonly where: Map<string, number>;
  /** Slices whose API object differs from the book (adopted duplicates); written at the next sync. */
  readonly stale: Set<number>;
}

const SLICE_NAME = /^(.*)-(0|[1-9][0-9]{0,8})$/;

/**
 * The slice an AddressSet object is, or null when its name is not
 * `<spec.setId>-<index>` (not a slice nftpol wrote). Absent `members` is an
 * empty slice.
 */
export function observedSlice(object: AddressSet): ObservedSlice | null {
  const m = SLICE_NAME.exec(object.metadata.name);
  if (m === null || m[1] !== object.spec.setId) return null;
  // The CRD lets a writer omit an empty list, whatever the type says.
  const members: readonly string[] | undefined = object.spec.members;
  return { setId: object.spec.setId, index: Number(m[2]), members: members ?? [] };
}

/** The slices of every shared set the controller writes; see the file header. */
export class SliceBook {
  readonly #sliceSize: number;
  readonly #sets = new Map<string, SetSlices>();

  /**
   * @param sliceSize most members per slice (`--set-slice-size`).
   * @throws RangeError unless `sliceSize` is a positive integer.
   */
  constructor(sliceSize: number) {
    if (!Number.isInteger(sliceSize) || sliceSize < 1)
      throw new RangeError(`slice size must be a positive integer, not ${sliceSize}`);
    this.#sliceSize = sliceSize;
  }

  /**
   * Takes the slices that exist in the API as the book's state, replacing
   * what it knew of each set among them (sets not among them are kept).
   *
   * - A member listed in two slices stays in the lowest-index one; the other
   *   slice is rewritten (or deleted) at the set's next {@link sync}.
   * - A slice larger than the slice size is kept, and never filled further.
   * - Two observations of the same slice: the last wins.
   */
  adopt(slices: Iterable<ObservedSlice>): void {
    const bySet = new Map<string, Map<number, readonly string[]>>();
    for (const s of slices) {
      const set = bySet.get(s.setId) ?? new Map<number, readonly string[]>();
      bySet.set(s.setId, set.set(s.index, s.members));
    }
    for (const [setId, observed] of bySet) {
      const state: SetSlices = { slices: new Map(), where: new Map(), stale: new Set() };
      for (const index of [...observed.keys()].sort((a, b) => a - b)) {
        const listed = observed.get(index) ?? [];
        const members = new Set<string>();
        for (const member of listed) {
          if (state.where.has(member)) continue;
          members.add(member);
          state.where.set(member, index);
        }
        if (members.size !== listed.length) state.stale.add(index);
        state.slices.set(index, members);
      }
      this.#sets.set(setId, state);
    }
  }

  /**
   * Makes the members of `setId` equal `desired` (a set the book does not
   * know yet starts with one empty slice, index 0) and returns the writes
   * and deletes that bring the API along: only slices a member left or
   * joined (plus slices made stale by {@link adopt}), each once. Unchanged
   * members → no changes.
   *
   * @throws MemberError (src/nft/compose.ts) when a member to write is not a
   *   canonical member text.
   */
  sync(setId: string, desired: Iterable<string>): SliceChanges {
    const want: ReadonlySet<string> = desired instanceof Set ? desired : new Set(desired);
    const { state, touched } = this.#open(setId);
    const leaving: string[] = [];
    for (const member of state.where.keys()) if (!want.has(member)) leaving.push(member);
    const joining: string[] = [];
    for (const member of want) if (!state.where.has(member)) joining.push(member);
    return this.#move(setId, state, touched, leaving, joining);
  }

  /**
   * Like {@link sync}, from what changed instead of the whole set: `added`
   * members join (those already in a slice are ignored), `removed` members
   * leave (those in no slice are ignored). Costs the change, not the set:
   * for one pod joining a set of 150,000 members it touches one slice. A set
   * the book does not know starts as in {@link sync}, empty plus `added`.
   *
   * @throws MemberError as {@link sync}.
   */
  change(setId: string, added: Iterable<string>, removed: Iterable<string>): SliceChanges {
    const { state, touched } = this.#open(setId);
    const leaving = [...removed].filter((m) => state.where.has(m));
    const joining = [...added].filter((m) => !state.where.has(m));
    return this.#move(setId, state, touched, leaving, joining);
  }

  /** True when the book has slices for `setId`. */
  knows(setId: string): boolean {
    return this.#sets.has(setId);
  }

  /** The set's state (created with one empty slice when new) and the slices already due. */
  #open(setId: string): { state: SetSlices; touched: Set<number> } {
    let state = this.#sets.get(setId);
    const touched = new Set<number>();
    if (state === undefined) {
      state = { slices: new Map([[0, new Set()]]), where: new Map(), stale: new Set() };
      this.#sets.set(setId, state);
      touched.add(0);
    }
    for (const index of state.stale) touched.add(index);
    state.stale.clear();
    return { state, touched };
  }

  /** Takes `leaving` out of their slices, puts `joining` in, returns the slices to write or delete. */
  #move(
    setId: string,
    state: SetSlices,
    touched: Set<number>,
    leaving: readonly string[],
    newcomers: readonly string[],
  ): SliceChanges {
    for (const member of leaving) {
      const index = state.where.get(member);
      if (index === undefined) continue;
      state.where.delete(member);
      state.slices.get(index)?.delete(member);
      touched.add(index);
    }
    const joining = sortMembers(newcomers);
    if (joining.length > 0) {
      // Slices only fill up from here on: one pass over those with room, in
      // index order, then new slices at the lowest free indices.
      const room = [...state.slices]
        .filter(([, slice]) => slice.size < this.#sliceSize)
        .map(([index]) => index)
        .sort((a, b) => a - b);
      let free = 0;
      for (const member of joining) {
        let index = room[0];
        if (index === undefined) {
          while (state.slices.has(free)) free++;
          index = free;
          state.slices.set(index, new Set());
          room.push(index);
        }
        const slice = state.slices.get(index) ?? new Set<string>();
        state.slices.set(index, slice.add(member));
        if (slice.size >= this.#sliceSize) room.shift();
        state.where.set(member, index);
        touched.add(index);
      }
    }

    const write: SliceWrite[] = [];
    const remove: string[] = [];
    // Highest index first, so that a set emptied at once keeps its lowest slice.
    for (const index of [...touched].sort((a, b) => b - a)) {
      const slice = state.slices.get(index);
      if (slice === undefined) continue;
      if (slice.size === 0 && state.slices.size > 1) {
        state.slices.delete(index);
        remove.push(sliceName(setId, index));
      } else {
        write.push({ setId, index, members: sortMembers(slice) });
      }
    }
    return { write: write.reverse(), remove: remove.reverse() };
  }

  /** Forgets `setId`; returns the names of all its slices, to delete (none for an unknown set). */
  drop(setId: string): string[] {
    const state = this.#sets.get(setId);
    if (state === undefined) return [];
    this.#sets.delete(setId);
    return [...state.slices.keys()].sort((a, b) => a - b).map((i) => sliceName(setId, i));
  }

  /** Ids of every set the book knows, sorted. */
  ids(): string[] {
    return [...this.#sets.keys()].sort();
  }

  /** The members of `setId` over all its slices (empty for an unknown set). */
  membersOf(setId: string): ReadonlySet<string> {
    return new Set(this.#sets.get(setId)?.where.keys() ?? []);
  }

  /** The slices of `setId` (index → members, unsorted), for tests and diagnostics. */
  slicesOf(setId: string): ReadonlyMap<number, ReadonlySet<string>> {
    const state = this.#sets.get(setId);
    return new Map([...(state?.slices ?? [])].map(([i, s]) => [i, new Set(s)]));
  }
}
