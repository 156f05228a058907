/**
 * The nft 1.0.6 dialect, one token at a time: names, quoted comments, set
 * types and set elements. render.ts assembles lines from these; keeping the
 * token rules here means every place that writes an address, a port or a
 * comment writes it the same way, and that the limits nft enforces (128-byte
 * comments, 255-byte names, no escapes inside quoted strings) are checked in
 * one file, before the kernel sees the script.
 *
 * PURE: no I/O. Imports only the plan's types and the core's address math.
 */
import { formatIp, parseCidr, parseIp } from '../policy/cidr.js';
import type { Family, Protocol } from '../policy/model.js';
import type { AddrRange, PortRange, ProtocolPort, SharedSetKind } from '../policy/plan.js';

/** The address family of the one table nftpol owns. */
export const TABLE_FAMILY = 'inet';

/** The name of the one table nftpol owns; nothing outside it is ever touched. */
export const TABLE_NAME = 'nftpol';

/** nft rejects longer comments ("comment too long, 128 characters maximum allowed"); bytes, not characters. */
export const COMMENT_MAX_BYTES = 128;

/** Longest chain, set or map name the kernel accepts (NFT_NAME_MAXLEN 256 including the NUL). */
export const NAME_MAX_BYTES = 255;

/** A plan that cannot be written as a valid nft script (a broken plan invariant). */
export class RenderError extends Error {
  override readonly name = 'RenderError';
}

// nft's scanner: an identifier starts with a letter, `_` or `.`, then letters,
// digits, `/`, `-`, `_`, `.`. nft 1.0.6 has no quoted form for chain or set names.
const IDENTIFIER = /^[A-Za-z_.][A-Za-z0-9/\-_.]*$/;

/**
 * Returns `name` unchanged when nft accepts it as a chain, set or map name.
 * Keywords (`counter`, `tcp`…) are not detected: plan names carry prefixes.
 * @throws RenderError when it has other characters or exceeds 255 bytes.
 */
export function formatName(name: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new RenderError(`"${name}" is not a valid nft name (letters, digits, / - _ . only)`);
  }
  if (Buffer.byteLength(name, 'utf8') > NAME_MAX_BYTES) {
    throw new RenderError(`nft name "${name}" is longer than ${NAME_MAX_BYTES} bytes`);
  }
  return name;
}

/**
 * Replaces what cannot appear on one line of the script with spaces, so that
 * text from object names can go in `#` lines and comments: control
 * characters (C0, DEL and C1, which holds NEL and the 8-bit terminal escape
 * CSI) and the Unicode line and paragraph separators, which some editors and
 * viewers break lines at.
 */
export function toOneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
}

/**
 * A double-quoted nft comment of `head` followed by `tail`:
 *  - `"` becomes `'` (nft strings have no escapes), control characters become spaces;
 *  - longer than 128 UTF-8 bytes, `head` is cut on a character boundary and
 *    ends in `…`, while `tail` is kept whole (` ingress rule 3` survives a
 *    long policy name), so the result always loads.
 */
export function quoteComment(head: string, tail = ''): string {
  const clean = (t: string): string => toOneLine(t).replace(/"/g, "'");
  const h = clean(head);
  const t = clean(tail);
  if (Buffer.byteLength(h + t, 'utf8') <= COMMENT_MAX_BYTES) return `"${h}${t}"`;
  const ellipsis = '…';
  let budget = COMMENT_MAX_BYTES - Buffer.byteLength(ellipsis + t, 'utf8');
  let out = '';
  for (const ch of budget > 0 ? h : '') {
    budget -= Buffer.byteLength(ch, 'utf8');
    if (budget < 0) break;
    out += ch;
  }
  const text = `${out}${ellipsis}${t}`;
  // A tail that alone exceeds the limit is cut too (render's tails are short).
  return Buffer.byteLength(text, 'utf8') <= COMMENT_MAX_BYTES ? `"${text}"` : quoteComment(text);
}

/** The nft type of one address: `ipv4_addr` or `ipv6_addr`. */
export function addrType(family: Family): 'ipv4_addr' | 'ipv6_addr' {
  return family === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
}

/**
 * The `type` of a shared set of `kind`:
 *  - `addr` → `ipv4_addr`;
 *  - `addrPort` → `ipv4_addr . inet_proto . inet_service`.
 */
export function formatSetType(kind: SharedSetKind, family: Family): string {
  return kind === 'addr' ? addrType(family) : `${addrType(family)} . inet_proto . inet_service`;
}

/** `tcp`, `udp` or `sctp`, as nft names the protocol in `inet_proto` elements. */
export function formatProtocol(protocol: Protocol): 'tcp' | 'udp' | 'sctp' {
  switch (protocol) {
    case 'TCP':
      return 'tcp';
    case 'UDP':
      return 'udp';
    case 'SCTP':
      return 'sctp';
  }
}

/** `80` for a single port, `80-90` for a range. */
export function formatPortRange(range: PortRange): string {
  return range.first === range.last ? String(range.first) : `${range.first}-${range.last}`;
}

/**
 * An address range the shortest way nft reads it back the same:
 *  - `10.0.0.5` when first equals last;
 *  - `10.0.0.0/24` when the range is exactly one prefix;
 *  - `10.0.0.1-10.0.0.9` otherwise.
 * @throws CidrError when an address is malformed; RenderError when last < first or families differ.
 */
export function formatAddrRange(range: AddrRange): string {
  const first = parseIp(range.first);
  const last = parseIp(range.last);
  if (first.family !== last.family || last.value < first.value) {
    throw new RenderError(`invalid address range ${range.first}-${range.last}`);
  }
  if (first.value === last.value) return formatIp(first);
  const size = last.value - first.value + 1n;
  const isPowerOfTwo = (size & (size - 1n)) === 0n;
  if (isPowerOfTwo && (first.value & (size - 1n)) === 0n) {
    const bits = first.family === 'ip' ? 32 : 128;
    const prefix = bits - (size.toString(2).length - 1);
    return `${formatIp(first)}/${prefix}`;
  }
  return `${formatIp(first)}-${formatIp(last)}`;
}

/**
 * A CIDR in canonical form (host bits cleared, RFC 5952), as an element.
 * @throws CidrError
 */
export function formatCidr(cidr: string): string {
  const r = parseCidr(cidr);
  return formatAddrRange({
    first: formatIp({ family: r.family, value: r.first }),
    last: formatIp({ family: r.family, value: r.last }),
  });
}

/** `tcp . 80` or `udp . 8000-8080`: one inline protocol . port element. */
export function formatProtocolPort(p: ProtocolPort): string {
  return `${formatProtocol(p.protocol)} . ${formatPortRange(p.port)}`;
}
