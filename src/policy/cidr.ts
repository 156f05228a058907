/**
 * Address arithmetic for IPv4 and IPv6 on one representation: a family and a
 * bigint. ipBlock `except` is subtracted here into disjoint inclusive ranges,
 * because nft rejects overlapping elements in concatenated interval sets.
 */
import type { Family } from './model.js';

export interface Address {
  readonly family: Family;
  readonly value: bigint;
}

/** Inclusive range of one family. */
export interface Range {
  readonly family: Family;
  readonly first: bigint;
  readonly last: bigint;
}

export class CidrError extends Error {
  override readonly name = 'CidrError';
}

const BITS: Record<Family, number> = { ip: 32, ip6: 128 };

/** Parses an IPv4 or IPv6 address. @throws CidrError */
export function parseIp(text: string): Address {
  if (text.includes(':')) return { family: 'ip6', value: parseIp6(text) };
  return { family: 'ip', value: parseIp4(text) };
}

/** True when `text` is a valid IPv4 or IPv6 address. */
export function isIp(text: string): boolean {
  try {
    parseIp(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Four dot-separated decimal octets, each `0` or 1–3 digits without a leading
 * zero, at most 255. One pass over the characters: this runs for every
 * address of every pod and every set element, so it avoids regexes and
 * per-octet bigints.
 */
function parseIp4(text: string): bigint {
  const bad = (): CidrError => new CidrError(`invalid IPv4 address "${text}"`);
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || octet > 255 || ++dots > 3) throw bad();
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 /* 0-9 */) {
      if ((digits > 0 && octet === 0) || ++digits > 3) throw bad(); // leading zero, or too long
      octet = octet * 10 + (c - 48);
    } else {
      throw bad();
    }
  }
  if (dots !== 3 || digits === 0 || octet > 255) throw bad();
  return BigInt(value * 256 + octet);
}

function parseIp6(text: string): bigint {
  const bad = (): CidrError => new CidrError(`invalid IPv6 address "${text}"`);
  let body = text;
  let tail: bigint[] = [];
  const lastColon = body.lastIndexOf(':');
  if (body.slice(lastColon + 1).includes('.')) {
    const v4 = parseIp4(body.slice(lastColon + 1));
    tail = [v4 >> 16n, v4 & 0xffffn];
    body = body.slice(0, lastColon + 1);
    if (!body.endsWith('::')) body = body.slice(0, -1);
  }
  const halves = body.split('::');
  if (halves.length > 2) throw bad();
  const group = (s: string): bigint[] =>
    s === ''
      ? []
      : s.split(':').map((g) => {
          if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
          return BigInt(parseInt(g, 16));
        });
  const head = group(halves[0] ?? '');
  const rest = halves.length === 2 ? group(halves[1] ?? '') : [];
  const given = head.length + rest.length + tail.length;
  let groups: bigint[];
  if (halves.length === 2) {
    if (given > 7) throw bad();
    groups = [...head, ...Array<bigint>(8 - given).fill(0n), ...rest, ...tail];
  } else {
    groups = [...head, ...tail];
  }
  if (groups.length !== 8) throw bad();
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Canonical text (RFC 5952 for IPv6). */
export function formatIp(addr: Address): string {
  if (addr.family === 'ip') {
    const v = Number(addr.value & 0xffffffffn);
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((addr.value >> BigInt(i * 16)) & 0xffffn));
  // Longest run of two or more zero groups becomes "::" (first such run on ties).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Canonical text of an address given as text. @throws CidrError */
export function canonicalIp(text: string): string {
  return formatIp(parseIp(text));
}

/**
 * Parses `a.b.c.d/n` or `x::/n` (a bare address is a /32 or /128). Host bits
 * set below the prefix are cleared, as Go's net.ParseCIDR (and so the API
 * server) does; `hasHostBits` lets a loader warn about them.
 * @throws CidrError
 */
export function parseCidr(text: string): Range {
  const slash = text.indexOf('/');
  const addr = parseIp(slash < 0 ? text : text.slice(0, slash));
  const bits = BITS[addr.family];
  const lenText = slash < 0 ? String(bits) : text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]*)$/.test(lenText) || Number(lenText) > bits) {
    throw new CidrError(`invalid prefix length in CIDR "${text}"`);
  }
  const hostBits = BigInt(bits - Number(lenText));
  const mask = (1n << hostBits) - 1n;
  const first = addr.value & ~mask;
  return { family: addr.family, first, last: first | mask };
}

/** True when `addr` lies in `range`. */
export function rangeContains(range: Range, addr: Address): boolean {
  return range.family === addr.family && range.first <= addr.value && addr.value <= range.last;
}

/** True when `inner` lies wholly in `outer`. */
export function rangeCovers(outer: Range, inner: Range): boolean {
  return outer.family === inner.family && outer.first <= inner.first && inner.last <= outer.last;
}

/**
 * Sorts and merges overlapping or adjacent ranges of one family into the
 * fewest disjoint ranges.
 */
export function mergeRanges(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) =>
    a.family !== b.family
      ? a.family < b.family
        ? -1
        : 1
      : a.first < b.first
        ? -1
        : a.first > b.first
          ? 1
          : 0,
  );
  const out: Range[] = [];
  for (const r of sorted) {
    const prev = out[out.length - 1];
    if (prev && prev.family === r.family && r.first <= prev.last + 1n) {
      if (r.last > prev.last) out[out.length - 1] = { ...prev, last: r.last };
    } else {
      out.push(r);
    }
  }
  return out;
}

/** `from` less every range of `holes`: disjoint, sorted ranges. */
export function subtractRanges(from: Range, holes: readonly Range[]): Range[] {
  let pieces: Range[] = [from];
  for (const h of mergeRanges(holes.filter((x) => x.family === from.family))) {
    const next: Range[] = [];
    for (const p of pieces) {
      if (h.last < p.first || h.first > p.last) {
        next.push(p);
        continue;
      }
      if (h.first > p.first) next.push({ ...p, last: h.first - 1n });
      if (h.last < p.last) next.push({ ...p, first: h.last + 1n });
    }
    pieces = next;
  }
  return pieces;
}

/**
 * The strict spelling of a CIDR written in a legacy form that the API server
 * still accepts (k8s.io/utils `ParseCIDRSloppy`, Go before 1.17): leading
 * zeros in IPv4 octets and in the prefix length. They are read as decimal,
 * never octal: `010.0.0.0/08` is `10.0.0.0/8`.
 *
 * Returns null when `text` has no such leading zeros, or is no valid CIDR
 * even without them; the strict parsers here never accept legacy forms, so a
 * loader rewrites them once, with a warning, and nothing downstream sees them.
 */
export function strictCidrSpelling(text: string): string | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const address = text.slice(0, slash);
  const length = text.slice(slash + 1);
  if (!/^[0-9]+$/.test(length)) return null;
  // An IPv4 address, alone or as the tail of an IPv6 one (`::ffff:010.0.0.1`).
  const quad = /^(.*:)?([0-9]+)\.([0-9]+)\.([0-9]+)\.([0-9]+)$/.exec(address);
  const strictAddress = quad
    ? `${quad[1] ?? ''}${quad.slice(2).map(stripZeros).join('.')}`
    : address;
  const strict = `${strictAddress}/${stripZeros(length)}`;
  if (strict === text) return null;
  try {
    parseCidr(strict);
    return strict;
  } catch {
    return null;
  }
}

function stripZeros(digits: string | undefined): string {
  return (digits ?? '').replace(/^0+(?=[0-9])/, '');
}

/** True when `text` is a CIDR whose address has bits set below its prefix. */
export function hasHostBits(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash < 0) return false;
  return (
    canonicalIp(text.slice(0, slash)) !==
    formatIp({ ...parseIp(text.slice(0, slash)), value: parseCidr(text).first })
  );
}
