/**
 * The AddressSet writes over the API: the controller's server-side apply of
 * one slice, and delete. The code that decides which slices to write
 * (controller/slices.ts) and when reaches the API only through
 * {@link AddressSetWriter}, so its tests need no server; this file holds the
 * one implementation over client-node and the builder of the apply body, so
 * every slice is labelled and annotated the same way.
 */
import type { AddressSetKind, AddressSetSpec } from './addressset.js';
import {
  ADDRESS_SET_KIND,
  ADDRESS_SET_PLURAL,
  SET_LABEL,
  WRITTEN_AT_ANNOTATION,
  addressSetKindOf,
  sliceName,
} from './addressset.js';
import type { ApiClients } from './client.js';
import { API_VERSION } from './nodefirewall.js';
import { nftpolObjectWriter, type NftpolObjectWriter } from './nftpol-object-writer.js';

/** The CRD's limit on `spec.peer`, in characters. */
export const PEER_MAX_LENGTH = 1024;

/** The server-side apply body of one slice. */
export interface AddressSetApply {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: typeof ADDRESS_SET_KIND;
  readonly metadata: {
    /** `<set id>-<index>`. */
    readonly name: string;
    readonly labels: Readonly<Record<typeof SET_LABEL, string>>;
    readonly annotations: Readonly<Record<typeof WRITTEN_AT_ANNOTATION, string>>;
  };
  readonly spec: AddressSetSpec;
}

/** The API calls the controller needs to keep slices: apply and delete. */
export type AddressSetWriter = NftpolObjectWriter<AddressSetApply>;

/**
 * The apply body of slice `index` of set `setId`.
 *
 * - `members` is written as given: pass them sorted as the composed script
 *   sorts them (SliceBook does); `memberCount` is their number. An empty
 *   list is sent as `[]` (the real server keeps it); readers still take an
 *   absent list as empty, as the CRD allows it.
 * - `peer` longer than {@link PEER_MAX_LENGTH} characters is cut to fit, ending
 *   in `…` (it is for people; the set id carries the identity).
 * - `writtenAt` is the controller's clock at write (RFC 3339 with
 *   milliseconds), for the executors' propagation-lag metric.
 *
 * @throws Error when `kind` is not the kind `setId` names (a programming error
 *   the CRD would refuse with a 422).
 */
export function addressSetBody(
  setId: string,
  kind: AddressSetKind,
  peer: string,
  index: number,
  members: readonly string[],
  writtenAt: string,
): AddressSetApply {
  const expected = addressSetKindOf(setId);
  if (expected === null)
    throw new Error(`"${setId}" is not a set id (pods-<16 hex> or port-<16 hex>)`);
  if (expected !== kind) throw new Error(`set ${setId} holds ${expected} members, not ${kind}`);
  return {
    apiVersion: API_VERSION,
    kind: ADDRESS_SET_KIND,
    metadata: {
      name: sliceName(setId, index),
      labels: { [SET_LABEL]: setId },
      annotations: { [WRITTEN_AT_ANNOTATION]: writtenAt },
    },
    spec: {
      setId,
      kind,
      peer: fitPeer(peer),
      members: [...members],
      memberCount: members.length,
    },
  };
}

/** {@link AddressSetWriter} over client-node. */
export function apiAddressSetWriter(clients: ApiClients): AddressSetWriter {
  return nftpolObjectWriter<AddressSetApply>(clients, ADDRESS_SET_PLURAL);
}

/** `peer`, cut to {@link PEER_MAX_LENGTH} characters (code points, as the server counts). */
function fitPeer(peer: string): string {
  const chars = [...peer];
  return chars.length <= PEER_MAX_LENGTH
    ? peer
    : `${chars.slice(0, PEER_MAX_LENGTH - 1).join('')}…`;
}
