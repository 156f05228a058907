/**
 * Shared peer sets in the nft script (v2): how a set id becomes the names of
 * its per-family nft sets. The rules script (NodeFirewall `spec.script`)
 * declares these sets without members; the members come from AddressSet
 * slices and are added as `add element` lines (see compose.ts).
 *
 * PURE: no I/O.
 */
import type { Family } from '../policy/model.js';
import type { SharedSetKind } from '../policy/plan.js';

export type { SharedSetKind } from '../policy/plan.js';

const ID = /^(pods|port)-([0-9a-f]{16})$/;
const NAME = /^(pods|port)_([0-9a-f]{16})_([46])$/;

/** `pods-<hex>` → `pods_<hex>_4` / `pods_<hex>_6`. @throws Error on a malformed id. */
export function sharedSetName(id: string, family: Family): string {
  const m = ID.exec(id);
  if (m === null)
    throw new Error(`"${id}" is not a shared set id (pods-<16 hex> or port-<16 hex>)`);
  return `${m[1] ?? ''}_${m[2] ?? ''}_${family === 'ip' ? '4' : '6'}`;
}

/** The shared set an nft set name stands for, or null when it is no shared set's name. */
export function sharedSetOfName(
  name: string,
): { readonly id: string; readonly family: Family; readonly kind: SharedSetKind } | null {
  const m = NAME.exec(name);
  if (m === null) return null;
  return {
    id: `${m[1] ?? ''}-${m[2] ?? ''}`,
    family: m[3] === '4' ? 'ip' : 'ip6',
    kind: m[1] === 'pods' ? 'addr' : 'addrPort',
  };
}
