/**
 * The AddressSets as the API holds them, for the commands that read the
 * cluster: `status nodes` (which sets a node's rules name have no slice at
 * all) and `explain --kubeconfig` (is the peer a member of the set that
 * decides). A slice counts for set S when its `nftpol.io/set` label and its
 * `spec.setId` both say S: the executor selects slices by that label and
 * groups them by `spec.setId`.
 *
 * Reading them may be refused (a user with the executor-like RBAC that
 * lists NodeFirewalls only) or impossible (the AddressSet CRD is not
 * installed); the commands then say so in one line and carry on, so that
 * is a value here ({@link LiveSets} `unreadable`), not an error.
 *
 * PURE: takes the listed objects as plain JSON.
 */
import { SET_LABEL } from '../k8s/addressset.js';
import { compareText } from '../policy/order.js';

/** The parts of an AddressSet slice read here. */
export interface AddressSetObject {
  readonly metadata?: {
    readonly name?: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly spec?: { readonly setId?: string; readonly members?: readonly string[] };
}

/** The AddressSets as listed, or why they could not be. */
export type LiveSets =
  | { readonly kind: 'listed'; readonly slices: readonly AddressSetObject[] }
  | { readonly kind: 'unreadable'; readonly why: string };

/** Where one member stands in one set, as the API holds it. */
export type LiveMembership =
  /** Some slice of the set holds it; `slice` is the first by name. */
  | { readonly kind: 'member'; readonly slice: string }
  /** The set has slices, none holds it. */
  | { readonly kind: 'absent'; readonly slices: number }
  /** The set has no slice at all (not written yet, or retired). */
  | { readonly kind: 'no-set' };

/** The set a slice belongs to, or null when its label and `spec.setId` disagree or are missing. */
export function setIdOfSlice(slice: AddressSetObject): string | null {
  const label = slice.metadata?.labels?.[SET_LABEL];
  return label !== undefined && label !== '' && label === slice.spec?.setId ? label : null;
}

/** Slices by set id, each set's slices sorted by name. */
export function slicesBySet(
  slices: readonly AddressSetObject[],
): ReadonlyMap<string, readonly AddressSetObject[]> {
  const out = new Map<string, AddressSetObject[]>();
  for (const slice of slices) {
    const id = setIdOfSlice(slice);
    if (id === null) continue;
    const list = out.get(id) ?? [];
    list.push(slice);
    out.set(id, list);
  }
  for (const list of out.values()) {
    list.sort((a, b) => compareText(a.metadata?.name ?? '', b.metadata?.name ?? ''));
  }
  return out;
}

/** The ids among `setIds` that have no slice in `bySet`, in the order given. */
export function missingSetsOf(
  setIds: readonly string[],
  bySet: ReadonlyMap<string, readonly AddressSetObject[]>,
): string[] {
  return setIds.filter((id) => !bySet.has(id));
}

/** Whether `member` (element text: `10.0.0.7`, `10.0.0.7 . tcp . 8080`) is in set `setId`. */
export function membershipOf(
  bySet: ReadonlyMap<string, readonly AddressSetObject[]>,
  setId: string,
  member: string,
): LiveMembership {
  const slices = bySet.get(setId);
  if (slices === undefined) return { kind: 'no-set' };
  const holder = slices.find((s) => (s.spec?.members ?? []).includes(member));
  return holder === undefined
    ? { kind: 'absent', slices: slices.length }
    : { kind: 'member', slice: holder.metadata?.name ?? '' };
}

/**
 * The one line saying AddressSets could not be read, or null when they were:
 * `AddressSets not read (<why>): <consequence>`.
 */
export function unreadableLine(sets: LiveSets | null, consequence: string): string | null {
  return sets?.kind === 'unreadable' ? `AddressSets not read (${sets.why}): ${consequence}` : null;
}
