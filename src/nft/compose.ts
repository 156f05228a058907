/**
 * compose: a node's rules script (NodeFirewall `spec.script`, whose shared
 * peer sets are declared without members) + the members of those sets
 * (AddressSet slices) → the complete script the executor loads and
 * `nftpol render` prints; and, when only members changed, the element delta
 * the executor loads instead. Every byte follows the v2 contract
 * (docs: scratch v2-contract, "Composed (full) script" and "Member delta"):
 *
 *  - after the rules script, for each declared shared set (ascending name)
 *    with members of its family, lines
 *    `add element inet nftpol <set> { <e1>, <e2>, … }`, at most
 *    {@link MAX_ELEMENTS_PER_LINE} elements each;
 *  - elements sorted by address (numerically), then protocol text, then
 *    port (numerically), duplicates removed;
 *  - a delta is every `delete element` line (sets ascending) before every
 *    `add element` line, chunked and sorted the same way, so nft applies it
 *    as one transaction or not at all.
 *
 * Members are accepted only in their canonical text (the text nft elements
 * are written in, and the text the controller writes): an IPv4 dotted quad
 * without leading zeros, IPv6 as policy/cidr.ts formatIp prints it,
 * protocols `tcp|udp|sctp`, ports 0–65535 in decimal. One text per member
 * means one order, one dedup and one hash for the same set everywhere.
 *
 * PURE: no I/O.
 */
import { formatIp, parseIp } from '../policy/cidr.js';
import type { Family } from '../policy/model.js';
import { compareText } from '../policy/order.js';
import { sharedSetOfName, type SharedSetKind } from './members.js';
import { TABLE_FAMILY, TABLE_NAME } from './syntax.js';

/** Elements per `add element` / `delete element` line, at most. */
export const MAX_ELEMENTS_PER_LINE = 1000;

/** Transport protocols a named-port member may carry. */
export type MemberProtocol = 'tcp' | 'udp' | 'sctp';

/** A member, parsed: an address, or an address with protocol and port. */
export type Member =
  | { readonly kind: 'addr'; readonly family: Family; readonly address: bigint }
  | {
      readonly kind: 'addrPort';
      readonly family: Family;
      readonly address: bigint;
      readonly proto: MemberProtocol;
      readonly port: number;
    };

/** A member text that is not a canonical member of its set's kind; `message` says what is wrong. */
export class MemberError extends Error {
  override readonly name = 'MemberError';
  /** The offending text. */
  readonly member: string;

  constructor(member: string, message: string) {
    super(message);
    this.member = member;
  }
}

/** One shared set a rules script declares. */
export interface DeclaredSet {
  /** The nft set name, e.g. `pods_0123456789abcdef_4`. */
  readonly name: string;
  /** The set id, e.g. `pods-0123456789abcdef`. */
  readonly id: string;
  readonly family: Family;
  readonly kind: SharedSetKind;
}

const PROTOCOLS: ReadonlySet<string> = new Set<MemberProtocol>(['tcp', 'udp', 'sctp']);
const PORT = /^(0|[1-9][0-9]{0,4})$/;
const SEPARATOR = ' . ';

/**
 * Parses one member of a set of `kind`.
 * @throws MemberError saying what is wrong, e.g.
 *   `"10.0.0.300" is not an IPv4 or IPv6 address`.
 */
export function parseMember(text: string, kind: SharedSetKind): Member {
  if (kind === 'addr') {
    const { family, address } = parseAddress(text, text);
    return { kind, family, address };
  }
  const parts = text.split(SEPARATOR);
  if (parts.length !== 3) {
    throw new MemberError(text, `"${text}" is not <address> . <protocol> . <port>`);
  }
  const [addressText = '', proto = '', portText = ''] = parts;
  const { family, address } = parseAddress(addressText, text);
  if (!PROTOCOLS.has(proto)) {
    throw new MemberError(text, `"${text}": protocol "${proto}" is not tcp, udp or sctp`);
  }
  const port = PORT.test(portText) ? Number(portText) : NaN;
  if (!(port <= 65535)) {
    throw new MemberError(text, `"${text}": port "${portText}" is not a number from 0 to 65535`);
  }
  return { kind, family, address, proto: proto as MemberProtocol, port };
}

/** The kind of member `text` looks like: `addrPort` when it has ` . ` parts, else `addr`. */
export function memberKindOf(text: string): SharedSetKind {
  return text.includes(SEPARATOR) ? 'addrPort' : 'addr';
}

function parseAddress(text: string, member: string): { family: Family; address: bigint } {
  let parsed;
  try {
    parsed = parseIp(text);
  } catch {
    const where = text === member ? '' : `"${member}": `;
    throw new MemberError(member, `${where}"${text}" is not an IPv4 or IPv6 address`);
  }
  const canonical = formatIp(parsed);
  if (canonical !== text) {
    const where = text === member ? '' : `"${member}": `;
    throw new MemberError(member, `${where}"${text}" is not in canonical form (${canonical})`);
  }
  return { family: parsed.family, address: parsed.value };
}

/**
 * The contract's element order on parsed members: IPv4 before IPv6, then
 * address numerically, then protocol text, then port numerically (an
 * address alone sorts before the same address with a port).
 */
export function compareParsedMembers(a: Member, b: Member): number {
  if (a.family !== b.family) return a.family === 'ip' ? -1 : 1;
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  if (a.kind === 'addr' || b.kind === 'addr') {
    return a.kind === b.kind ? 0 : a.kind === 'addr' ? -1 : 1;
  }
  const byProto = compareText(a.proto, b.proto);
  if (byProto !== 0) return byProto;
  return a.port - b.port;
}

/**
 * Negative, zero or positive as member text `a` sorts before, with or after
 * `b` in the contract's element order (see {@link compareParsedMembers}).
 * @throws MemberError when either is not a canonical member.
 */
export function compareMembers(a: string, b: string): number {
  return compareParsedMembers(parseMember(a, memberKindOf(a)), parseMember(b, memberKindOf(b)));
}

/**
 * Member texts in the contract's element order, duplicates removed (IPv4
 * before IPv6 when a list mixes them, as a pods set's slices do). Each
 * member's kind is read from its text ({@link memberKindOf}).
 * @throws MemberError on a text that is not a canonical member.
 */
export function sortMembers(members: Iterable<string>): string[] {
  return sortParsed(
    [...members].map((text) => ({ text, m: parseMember(text, memberKindOf(text)) })),
  );
}

function sortParsed(items: { text: string; m: Member }[]): string[] {
  items.sort((x, y) => compareParsedMembers(x.m, y.m));
  const out: string[] = [];
  for (const { text } of items) if (out.at(-1) !== text) out.push(text);
  return out;
}

const DECLARATION = /^\tset ((?:pods|port)_[0-9a-f]{16}_[46]) \{$/gm;

/**
 * The shared sets `rulesScript` declares (lines `\tset pods_<hex>_4 {`),
 * sorted by name, each once. The last script's answer is remembered: the
 * executor asks again about the same script for every member change.
 */
export function declaredSharedSets(rulesScript: string): readonly DeclaredSet[] {
  if (lastDeclared !== null && lastDeclared.script === rulesScript) return lastDeclared.sets;
  const byName = new Map<string, DeclaredSet>();
  for (const match of rulesScript.matchAll(DECLARATION)) {
    const name = match[1] ?? '';
    const shared = sharedSetOfName(name);
    if (shared !== null) byName.set(name, { name, ...shared });
  }
  const sets = [...byName.values()].sort((a, b) => compareText(a.name, b.name));
  lastDeclared = { script: rulesScript, sets };
  return sets;
}

let lastDeclared: { readonly script: string; readonly sets: readonly DeclaredSet[] } | null = null;

/**
 * The elements each shared set declared in `rulesScript` gets from
 * `members` (by set id): the members of the set's family, sorted and
 * deduplicated. Every declared set is in the result (ascending names), with
 * an empty list when it gets nothing; ids the script does not declare are
 * ignored; a declared set without an entry in `members` is empty.
 * @throws MemberError on a member that is not canonical for its set's kind
 *   (a `port-…` set takes `<ip> . <proto> . <port>`, a `pods-…` set addresses).
 */
export function composeElements(
  rulesScript: string,
  members: ReadonlyMap<string, readonly string[]>,
): Map<string, readonly string[]> {
  return elementsOf(declaredSharedSets(rulesScript), members);
}

function elementsOf(
  declared: readonly DeclaredSet[],
  members: ReadonlyMap<string, readonly string[]>,
): Map<string, readonly string[]> {
  const byId = new Map<
    string,
    { ip: { text: string; m: Member }[]; ip6: { text: string; m: Member }[] }
  >();
  const out = new Map<string, readonly string[]>();
  for (const set of declared) {
    let split = byId.get(set.id);
    if (split === undefined) {
      split = { ip: [], ip6: [] };
      for (const text of members.get(set.id) ?? []) {
        const m = parseMember(text, set.kind);
        split[m.family].push({ text, m });
      }
      byId.set(set.id, split);
    }
    out.set(set.name, sortParsed([...split[set.family]]));
  }
  return out;
}

/**
 * The complete script: `rulesScript`, then the `add element` lines of every
 * declared shared set with members of its family (see the file header).
 * With no such members the result is `rulesScript` itself, byte for byte.
 * A rules script that does not end in a newline gets one before the first
 * added line.
 * @throws MemberError as {@link composeElements}.
 */
export function composeScript(
  rulesScript: string,
  members: ReadonlyMap<string, readonly string[]>,
): string {
  const lines = elementLines('add', composeElements(rulesScript, members));
  if (lines.length === 0) return rulesScript;
  const sep = rulesScript === '' || rulesScript.endsWith('\n') ? '' : '\n';
  return `${rulesScript}${sep}${lines.join('')}`;
}

/**
 * The transaction that turns the declared shared sets' elements for
 * `before` into those for `after`: every `delete element` line first, then
 * every `add element` line, sets ascending, at most
 * {@link MAX_ELEMENTS_PER_LINE} sorted elements per line. Ids the script
 * does not declare are ignored on both sides; an id whose list is the same
 * array in `before` and `after` is unchanged and not even parsed (so keep
 * an unchanged set's array when building `after`).
 * @returns the delta text, or null when no declared set changes.
 * @throws MemberError as {@link composeElements}.
 */
export function memberDelta(
  rulesScript: string,
  before: ReadonlyMap<string, readonly string[]>,
  after: ReadonlyMap<string, readonly string[]>,
): string | null {
  // Only the sets of ids whose lists differ (the same array object cannot):
  // a member change costs the sets it touches, not every member of the node.
  const changed = declaredSharedSets(rulesScript).filter(
    (set) => before.get(set.id) !== after.get(set.id),
  );
  const old = elementsOf(changed, before);
  const now = elementsOf(changed, after);
  const deletes = new Map<string, readonly string[]>();
  const adds = new Map<string, readonly string[]>();
  for (const { name } of changed) {
    const was = old.get(name) ?? [];
    const is = now.get(name) ?? [];
    const wasSet = new Set(was);
    const isSet = new Set(is);
    deletes.set(
      name,
      was.filter((e) => !isSet.has(e)),
    );
    adds.set(
      name,
      is.filter((e) => !wasSet.has(e)),
    );
  }
  const lines = [...elementLines('delete', deletes), ...elementLines('add', adds)];
  return lines.length === 0 ? null : lines.join('');
}

/** `<verb> element inet nftpol <set> { … }\n` lines for each set with elements, in map order. */
function elementLines(
  verb: 'add' | 'delete',
  elements: ReadonlyMap<string, readonly string[]>,
): string[] {
  const lines: string[] = [];
  for (const [name, list] of elements) {
    for (let i = 0; i < list.length; i += MAX_ELEMENTS_PER_LINE) {
      const chunk = list.slice(i, i + MAX_ELEMENTS_PER_LINE).join(', ');
      lines.push(`${verb} element ${TABLE_FAMILY} ${TABLE_NAME} ${name} { ${chunk} }\n`);
    }
  }
  return lines;
}
