/**
 * The AddressSet custom resource (v2): the members of one shared peer set,
 * sliced like EndpointSlices, so a pod joining or leaving a peer writes one
 * small object instead of every NodeFirewall whose rules name that peer.
 * These types mirror `crds/addresssets.nftpol.io.yaml` field for field;
 * change both together.
 *
 * A set's id comes from the peer that defines it (src/policy/peer-sets.ts),
 * never from its members. Each slice is named `<set id>-<index>` and labelled
 * `nftpol.io/set=<set id>`, so an executor watches exactly the sets its
 * NodeFirewall lists in `spec.addressSets` with one label selector.
 */
import type { API_VERSION } from './nodefirewall.js';

/** Resource name in URLs: `/apis/nftpol.io/v1alpha1/addresssets/<slice>`. */
export const ADDRESS_SET_PLURAL = 'addresssets';
/** Singular resource name (kubectl). */
export const ADDRESS_SET_SINGULAR = 'addressset';
/** Object kind. */
export const ADDRESS_SET_KIND = 'AddressSet';
/** Kind of the list returned by a collection GET. */
export const ADDRESS_SET_LIST_KIND = 'AddressSetList';
/** kubectl short name. */
export const ADDRESS_SET_SHORT_NAMES: readonly string[] = ['nas'];
/** Label naming the set a slice belongs to. */
export const SET_LABEL = 'nftpol.io/set';
/** Annotation: when the controller wrote this slice (RFC 3339, milliseconds), for propagation lag. */
export const WRITTEN_AT_ANNOTATION = 'nftpol.io/written-at';
/** Members per slice unless `--set-slice-size` says otherwise. */
export const DEFAULT_SLICE_SIZE = 100;

/**
 * What a set's members are: `addr` pod IPs (`10.0.0.7`, `fd00::7`); `addrPort`
 * `<ip> . <proto> . <port>` for egress named ports (`10.0.0.7 . tcp . 8080`).
 */
export type AddressSetKind = 'addr' | 'addrPort';

/** One slice's desired members, written by the controller. */
export interface AddressSetSpec {
  /** `pods-<16 hex>` or `port-<16 hex>`; equals the `nftpol.io/set` label. */
  readonly setId: string;
  readonly kind: AddressSetKind;
  /** The peer this set stands for, for people reading `kubectl get nas -o yaml`. */
  readonly peer: string;
  /** Sorted as the composed script sorts them; at most the slice size. */
  readonly members: readonly string[];
  /** `members.length`, for the printer column. */
  readonly memberCount: number;
}

/** Metadata nftpol reads or writes on a slice (assignable to client-node's V1ObjectMeta). */
export interface AddressSetMetadata {
  readonly name: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** An AddressSet slice as it travels over the API. */
export interface AddressSet {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: typeof ADDRESS_SET_KIND;
  readonly metadata: AddressSetMetadata;
  readonly spec: AddressSetSpec;
}

/** The kind of the set `id` names (`pods-…` → addr, `port-…` → addrPort), or null. */
export function addressSetKindOf(id: string): AddressSetKind | null {
  if (/^pods-[0-9a-f]{16}$/.test(id)) return 'addr';
  if (/^port-[0-9a-f]{16}$/.test(id)) return 'addrPort';
  return null;
}

/** `<set id>-<index>`: the name of a set's slice. */
export function sliceName(setId: string, index: number): string {
  return `${setId}-${index}`;
}
