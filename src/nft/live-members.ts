/**
 * The members of the shared peer sets as the kernel holds them, in member
 * text (compose.ts's language), from a table read back with `nft -j`. The
 * drift check compares them with the members the executor loaded, and an
 * executor that adopts a predecessor's table after a restart takes them as
 * the members in force.
 *
 * Why not compare nft's JSON directly: nft prints an IPv4-mapped IPv6
 * address as `::ffff:1.2.3.4` where member text has `::ffff:102:304`, and a
 * concatenation as `{"concat": [addr, proto, port]}`. Converting the live
 * side to member text compares what each element means.
 *
 * PURE: no I/O; takes the normalized table of ruleset.ts.
 */
import { formatIp, parseIp } from '../policy/cidr.js';
import { sharedSetOfName } from './members.js';
import type { NormalizedTable } from './ruleset.js';

const PROTOCOL_NUMBERS: Readonly<Record<number, string>> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

/**
 * The member text of one element as ruleset.ts keeps it (canonical JSON of
 * what `nft -j` printed): an address, or `addr . proto . port` for a
 * concatenation. An element of any other shape, or an address that does not
 * parse, comes back as its JSON text — never equal to a member, so it counts
 * as a difference.
 */
export function memberOfElement(json: string): string {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return json;
  }
  if (typeof value === 'string') return addressText(value) ?? json;
  if (typeof value !== 'object' || value === null || !('concat' in value)) return json;
  const parts = value.concat;
  if (!Array.isArray(parts) || parts.length !== 3) return json;
  const [addr, proto, port] = parts as unknown[];
  const address = typeof addr === 'string' ? addressText(addr) : null;
  const protocol =
    typeof proto === 'string' ? proto : typeof proto === 'number' ? PROTOCOL_NUMBERS[proto] : null;
  if (address === null || protocol === undefined || protocol === null) return json;
  if (typeof port !== 'number') return json;
  return `${address} . ${protocol} . ${port}`;
}

function addressText(text: string): string | null {
  try {
    return formatIp(parseIp(text));
  } catch {
    return null;
  }
}

/**
 * The elements of every shared set (`pods_<hex>_4` …) in `table`, as member
 * text, by nft set name; unsorted (the kernel's order is no order).
 */
export function liveSharedElements(table: NormalizedTable): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, set] of Object.entries(table.sets)) {
    if (sharedSetOfName(name) === null) continue;
    out.set(name, set.elements.map(memberOfElement));
  }
  return out;
}

/**
 * The members of every shared set in `table` by set id, both families of an
 * id in one list (IPv4 first), as a composed script's members map would
 * give them; unsorted within a family.
 */
export function liveSharedMembers(table: NormalizedTable): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const names = Object.keys(table.sets).sort();
  for (const name of names) {
    const shared = sharedSetOfName(name);
    const set = table.sets[name];
    if (shared === null || set === undefined) continue;
    const list = out.get(shared.id) ?? [];
    list.push(...set.elements.map(memberOfElement));
    out.set(shared.id, list);
  }
  return out;
}
