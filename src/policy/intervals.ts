/**
 * Disjoint interval decomposition for nft interval sets. nft refuses
 * overlapping elements in a concatenated interval set ("File exists"), yet
 * NetworkPolicy freely produces overlaps: nested ipBlocks, a CIDR that holds a
 * selected pod, one peer allowed on 80 and another on 80-90. Here every union
 * of "address range × protocol × port range" rectangles becomes the same union
 * written as pairwise disjoint, sorted rectangles, so translate can hand render
 * sets nft accepts as they are.
 *
 * Method (per family and protocol): cut the address axis at every range
 * boundary, merge the port ranges covering each elementary slice, then join
 * neighbouring slices whose merged port lists are identical.
 */
import type { Range } from './cidr.js';
import type { Family, Protocol } from './model.js';
import type { PortRange } from './plan.js';

/** One "addresses × protocol × ports" rectangle; ranges are inclusive. */
export interface Rectangle {
  readonly addr: Range;
  readonly protocol: Protocol;
  readonly port: PortRange;
}

/** Protocol plus port range: one element of a family-independent `port` set. */
export interface ProtocolPorts {
  readonly protocol: Protocol;
  readonly port: PortRange;
}

/** Sorts and merges overlapping or adjacent port ranges into the fewest disjoint ranges. */
export function mergePortRanges(ranges: readonly PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.first - b.first || a.last - b.last);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const prev = out[out.length - 1];
    if (prev && r.first <= prev.last + 1) {
      if (r.last > prev.last) out[out.length - 1] = { first: prev.first, last: r.last };
    } else {
      out.push(r);
    }
  }
  return out;
}

/**
 * Merges protocol/port pairs per protocol: disjoint, sorted by protocol then
 * first port.
 */
export function mergeProtocolPorts(items: readonly ProtocolPorts[]): ProtocolPorts[] {
  const out: ProtocolPorts[] = [];
  for (const [protocol, ranges] of groupBy(
    items,
    (i) => i.protocol,
    (i) => i.port,
  )) {
    for (const port of mergePortRanges(ranges)) out.push({ protocol, port });
  }
  return out;
}

/**
 * Rewrites a union of rectangles as pairwise disjoint rectangles covering
 * exactly the same points.
 *
 * Guarantees:
 *  - no two returned rectangles share a point (same family, protocol, address and port);
 *  - the union is unchanged, whatever the input order and however it overlaps;
 *  - sorted by family (`ip` first), first address, protocol, first port;
 *  - the result depends only on the union, not on how the input was split
 *    (adjacent slices with identical port lists are joined, port ranges merged).
 */
export function decomposeRectangles(rects: readonly Rectangle[]): Rectangle[] {
  const out: Rectangle[] = [];
  const groups = groupBy(
    rects,
    (r) => `${r.addr.family} ${r.protocol}`,
    (r) => r,
  );
  for (const group of groups.values()) {
    const first = group[0];
    if (first) out.push(...decomposeOne(first.addr.family, first.protocol, group));
  }
  return out.sort(compareRectangles);
}

/** Sort order of rectangles: family, first address, protocol, first port. */
export function compareRectangles(a: Rectangle, b: Rectangle): number {
  if (a.addr.family !== b.addr.family) return a.addr.family === 'ip' ? -1 : 1;
  if (a.addr.first !== b.addr.first) return a.addr.first < b.addr.first ? -1 : 1;
  if (a.protocol !== b.protocol) return a.protocol < b.protocol ? -1 : 1;
  return a.port.first - b.port.first;
}

interface Slice {
  readonly first: bigint;
  last: bigint;
  readonly ports: readonly PortRange[];
}

/** Sweep along the address axis of one family and protocol. */
function decomposeOne(
  family: Family,
  protocol: Protocol,
  rects: readonly Rectangle[],
): Rectangle[] {
  // At each boundary: the port ranges that start covering and stop covering there.
  const events = new Map<bigint, { readonly add: PortRange[]; readonly remove: PortRange[] }>();
  const at = (x: bigint): { add: PortRange[]; remove: PortRange[] } => {
    let e = events.get(x);
    if (!e) {
      e = { add: [], remove: [] };
      events.set(x, e);
    }
    return e;
  };
  for (const r of rects) {
    at(r.addr.first).add.push(r.port);
    at(r.addr.last + 1n).remove.push(r.port);
  }
  const bounds = [...events.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // Active port ranges, counted so that duplicates leave one at a time.
  const active = new Map<string, { readonly port: PortRange; count: number }>();
  const slices: Slice[] = [];
  for (let i = 0; i < bounds.length; i++) {
    const x = bounds[i] as bigint;
    const e = events.get(x);
    for (const p of e?.remove ?? []) {
      const key = `${p.first}-${p.last}`;
      const a = active.get(key);
      if (a && --a.count === 0) active.delete(key);
    }
    for (const p of e?.add ?? []) {
      const key = `${p.first}-${p.last}`;
      const a = active.get(key);
      if (a) a.count++;
      else active.set(key, { port: p, count: 1 });
    }
    const next = bounds[i + 1];
    if (next === undefined || active.size === 0) continue;
    const ports = mergePortRanges([...active.values()].map((a) => a.port));
    const prev = slices[slices.length - 1];
    if (prev && prev.last + 1n === x && samePorts(prev.ports, ports)) prev.last = next - 1n;
    else slices.push({ first: x, last: next - 1n, ports });
  }
  return slices.flatMap((s) =>
    s.ports.map((port) => ({ addr: { family, first: s.first, last: s.last }, protocol, port })),
  );
}

function samePorts(a: readonly PortRange[], b: readonly PortRange[]): boolean {
  return (
    a.length === b.length && a.every((p, i) => p.first === b[i]?.first && p.last === b[i]?.last)
  );
}

/** Groups values by key; groups come out in sorted key order. */
function groupBy<T, K extends string, V>(
  items: readonly T[],
  keyOf: (item: T) => K,
  valueOf: (item: T) => V,
): Map<K, V[]> {
  const groups = new Map<K, V[]>();
  for (const item of items) {
    const key = keyOf(item);
    const list = groups.get(key);
    if (list) list.push(valueOf(item));
    else groups.set(key, [valueOf(item)]);
  }
  return new Map([...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
