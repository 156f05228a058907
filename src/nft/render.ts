/**
 * render: FirewallPlan → the node's whole nft script, byte-for-byte
 * deterministic, with its sha256. The script replaces `table inet nftpol` in
 * one transaction (`add table`, `delete table`, the full table), so the
 * kernel holds either all of the new ruleset or all of the old one.
 *
 * This is the node's *rules* script, the NodeFirewall's `spec.script`: the
 * shared peer sets it uses are declared without members (their members live
 * in AddressSet slices); compose.ts adds them as `add element` lines, which
 * is what `nftpol render` prints and the executor loads.
 *
 * Shape (docs/ruleset.md has an annotated example):
 *  - shared peer sets, declared by identity (`pods_<hex>_4`), members apart;
 *    ipBlocks and ports inline in each allow;
 *  - verdict maps `ingress4/6`, `egress4/6`: pod IP → `jump` its pod chain,
 *    so per-packet cost stays flat as pods and policies grow;
 *  - one chain per isolated pod and direction: allows in plan order (ingress
 *    `accept`, egress `return` so ingress is still checked), then a counted drop;
 *  - base chains `postrouting` (before source NAT) and `input` (pod → own host).
 *
 * `ct state invalid` is deliberately neither accepted nor dropped in the base
 * chains: invalid packets meet the pod chains like new ones. Accepting them
 * would let crafted packets bypass policy; dropping them would change traffic
 * that no policy governs (unisolated pods, the host).
 *
 * PURE: no I/O, clock or environment. Ordering is the plan's; render only
 * sorts map elements by address, which the plan does not carry in that form.
 */
import { parseCidr, parseIp, mergeRanges, formatIp } from '../policy/cidr.js';
import type { Direction, Family } from '../policy/model.js';
import type {
  Allow,
  FailClosed,
  FirewallPlan,
  PeerMatch,
  PodChain,
  PortMatch,
  SharedSetKind,
  SharedSetUse,
  TierRule,
} from '../policy/plan.js';
import { sharedSetName, sharedSetOfName } from './members.js';
import {
  formatAllowComment,
  formatDefaultComment,
  formatDenyComment,
  formatTierComment,
} from './comments.js';
import { hashScript } from './hash.js';
import {
  RenderError,
  TABLE_FAMILY,
  TABLE_NAME,
  addrType,
  formatAddrRange,
  formatName,
  formatProtocolPort,
  formatSetType,
  quoteComment,
  toOneLine,
} from './syntax.js';

export { RenderError } from './syntax.js';

/** A rendered script and the hash the executor verifies before applying it. */
export interface RenderedScript {
  /** The whole `nft -f` input; ends with a newline, no trailing spaces, tab-indented. */
  readonly script: string;
  /** `sha256:` + lowercase hex of the script's UTF-8 bytes. */
  readonly scriptHash: string;
}

/** The verdict maps dispatching pod IPs to pod chains, by direction and family. */
export const DISPATCH_MAPS: Readonly<Record<Direction, Readonly<Record<Family, string>>>> = {
  ingress: { ip: 'ingress4', ip6: 'ingress6' },
  egress: { ip: 'egress4', ip6: 'egress6' },
};

/** Fail-closed sets: the node's pod CIDRs and the pod IPs the plan knows. */
export const FAIL_CLOSED_SETS: Readonly<
  Record<'podCIDRs' | 'knownPods', Readonly<Record<Family, string>>>
> = {
  podCIDRs: { ip: 'pod_cidrs4', ip6: 'pod_cidrs6' },
  knownPods: { ip: 'known_pods4', ip6: 'known_pods6' },
};

/** The base chains, in the order they appear. */
export const BASE_CHAINS = ['postrouting', 'input'] as const;

const FAMILIES: readonly Family[] = ['ip', 'ip6'];
const RESERVED_SET_NAMES = new Set<string>([
  ...Object.values(DISPATCH_MAPS).flatMap((m) => Object.values(m)),
  ...Object.values(FAIL_CLOSED_SETS).flatMap((m) => Object.values(m)),
]);
const RESERVED_CHAIN_NAMES = new Set<string>(BASE_CHAINS);

/** Neighbour discovery (133–137) must pass before any dispatch, or IPv6 dies quietly. */
const ACCEPT_ND = 'meta l4proto ipv6-icmp icmpv6 type { 133-137 } accept';
const ACCEPT_REPLIES = 'ct state established,related accept';

/**
 * Writes the node's whole ruleset.
 *
 * Guarantees:
 *  - the same plan gives byte-identical output (no timestamps, no hidden order);
 *  - every set, map and chain of the plan appears once; the four dispatch maps
 *    always exist, even empty;
 *  - the script touches `table inet nftpol` only.
 *
 * @throws RenderError when the plan breaks an invariant nft would reject
 *   (an invalid or reserved name, a set whose kind is not its id's, an
 *   allow naming a missing set or one of the other kind, one IP dispatched
 *   to two chains of the same direction).
 */
export function renderScript(plan: FirewallPlan): RenderedScript {
  const sets: DeclaredSets = new Map(plan.sets.map((s) => [`${s.id} ${s.family}`, s.kind]));
  const body: string[] = [
    indentBlock([
      `comment ${quoteComment('managed by nftpol; replaced as a whole on every apply')}`,
    ]),
    ...[
      ...plan.sets.map(renderSet),
      ...(plan.failClosed ? renderFailClosedSets(plan.failClosed) : []),
      ...renderMaps(plan.chains),
      ...plan.chains.flatMap((c) => renderPodChains(c, sets)),
      renderPostrouting(plan.failClosed !== null),
      renderInput(),
    ].map(indentBlock),
  ];
  const pods = plural(plan.localPods, 'pod', 'pods');
  const policies = plural(plan.policies.length, 'policy', 'policies');
  const lines = [
    `# nftpol ruleset for node ${toOneLine(plan.node)}`,
    `# generated; do not edit — ${pods}, ${policies}`,
    '# ct state invalid is not accepted: such packets go through the pod chains like new ones.',
    `add table ${TABLE_FAMILY} ${TABLE_NAME}`,
    `delete table ${TABLE_FAMILY} ${TABLE_NAME}`,
    `table ${TABLE_FAMILY} ${TABLE_NAME} {`,
    body.join('\n\n'),
    '}',
  ];
  const script = `${lines.join('\n')}\n`;
  return { script, scriptHash: hashScript(script) };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Indents a block's inner lines under its opening line. */
function block(opening: string, inner: readonly string[]): string[] {
  return [`${opening} {`, ...inner.map((l) => `\t${l}`), '}'];
}

function elementsBlock(elements: readonly string[]): string[] {
  if (elements.length === 0) return [];
  return block(
    'elements =',
    elements.map((e, i) => (i < elements.length - 1 ? `${e},` : e)),
  );
}

/** A block's lines, each indented one tab under the table, as one text. */
function indentBlock(lines: readonly string[]): string {
  return lines.map((l) => `\t${l}`).join('\n');
}

/** The plan's shared sets by `<id> <family>`: their kinds. */
type DeclaredSets = ReadonlyMap<string, SharedSetKind>;

/** A shared set's declaration: its type only; members are added by compose.ts. */
function renderSet(set: SharedSetUse): string[] {
  let name: string;
  try {
    name = sharedSetName(set.id, set.family);
  } catch (err) {
    throw new RenderError(`cannot declare set ${set.id}: ${(err as Error).message}`);
  }
  // compose.ts types a set's members by its name: the declaration must agree.
  const kind = sharedSetOfName(name)?.kind;
  if (kind !== set.kind) {
    throw new RenderError(
      `set ${set.id} is declared as ${set.kind}, but its id holds ${kind ?? '?'}`,
    );
  }
  if (RESERVED_SET_NAMES.has(name)) {
    throw new RenderError(`set name ${name} is reserved by the ruleset`);
  }
  return block(`set ${formatName(name)}`, [`type ${formatSetType(set.kind, set.family)}`]);
}

function compareAddresses(a: string, b: string): number {
  const x = parseIp(a).value;
  const y = parseIp(b).value;
  return x < y ? -1 : x > y ? 1 : 0;
}

function renderFailClosedSets(failClosed: FailClosed): string[][] {
  return FAMILIES.flatMap((family) => {
    const cidrs = mergeRanges(
      failClosed.podCIDRs.map((c) => parseCidr(c)).filter((r) => r.family === family),
    ).map((r) =>
      formatAddrRange({
        first: formatIp({ family, value: r.first }),
        last: formatIp({ family, value: r.last }),
      }),
    );
    const known = [
      ...new Set(
        failClosed.knownPodIPs
          .filter((ip) => parseIp(ip).family === family)
          .map((ip) => formatIp(parseIp(ip))),
      ),
    ].sort(compareAddresses);
    return [
      block(`set ${FAIL_CLOSED_SETS.podCIDRs[family]}`, [
        `type ${addrType(family)}`,
        'flags interval',
        ...elementsBlock(cidrs),
      ]),
      block(`set ${FAIL_CLOSED_SETS.knownPods[family]}`, [
        `type ${addrType(family)}`,
        ...elementsBlock(known),
      ]),
    ];
  });
}

function renderMaps(chains: readonly PodChain[]): string[][] {
  const maps: string[][] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    for (const family of FAMILIES) {
      const name = DISPATCH_MAPS[direction][family];
      const entries: { ip: string; value: bigint; chain: string }[] = [];
      for (const chain of chains) {
        if (chain.direction !== direction) continue;
        for (const text of chain.ips) {
          const addr = parseIp(text);
          if (addr.family === family) {
            entries.push({ ip: formatIp(addr), value: addr.value, chain: chain.name });
          }
        }
      }
      entries.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
      for (let i = 1; i < entries.length; i++) {
        const prev = entries[i - 1];
        const cur = entries[i];
        if (prev && cur && prev.ip === cur.ip) {
          throw new RenderError(
            `${cur.ip} is dispatched to both ${prev.chain} and ${cur.chain} in map ${name}`,
          );
        }
      }
      maps.push(
        block(`map ${name}`, [
          `type ${addrType(family)} : verdict`,
          ...elementsBlock(entries.map((e) => `${e.ip} : jump ${formatName(e.chain)}`)),
        ]),
      );
    }
  }
  return maps;
}

/**
 * One pod's chains for one direction. Without ClusterNetworkPolicy lines,
 * one chain: the NetworkPolicy allows, then a counted drop. With them, the
 * tiers in order, each a stage a Pass can jump over:
 *
 *   `<entry>`            the Admin lines, then `goto` the next stage
 *   `<entry>/np`         NetworkPolicy allows and the drop (isolated pod), or
 *   `<entry>/baseline`   the Baseline lines (a pod NetworkPolicy does not isolate)
 *
 * and a chain no tier decides ends in a counted `default allow` line.
 * Without Admin lines the next stage is the entry chain itself. Ingress
 * allows `accept`; egress allows `return` (the destination's ingress is
 * still checked after); Deny `drop`s; Pass `goto`s the next stage, or
 * `return`s (the default: allowed) when none follows. `/` cannot occur in a
 * Kubernetes name, so stage names never collide with another pod's chain.
 */
function renderPodChains(chain: PodChain, sets: DeclaredSets): string[][] {
  if (RESERVED_CHAIN_NAMES.has(chain.name)) {
    throw new RenderError(`chain name ${chain.name} is reserved by the ruleset`);
  }
  const admin = chain.admin ?? [];
  const baseline = chain.baseline ?? [];
  const isolated = chain.policies.length > 0;
  if (isolated && baseline.length > 0) {
    throw new RenderError(`${chain.pod} is isolated by NetworkPolicy but has Baseline lines`);
  }
  if (!isolated && chain.allows.length > 0) {
    throw new RenderError(`${chain.pod} has NetworkPolicy allows but no isolating policy`);
  }
  const finalLine = isolated
    ? `counter drop comment ${formatDenyComment(chain.pod, chain.direction)}`
    : `counter comment ${formatDefaultComment(chain.pod, chain.direction)}`;
  const nextStage: { readonly name: string; readonly lines: string[] } | null = isolated
    ? {
        name: `${chain.name}/np`,
        lines: [...chain.allows.map((a) => renderAllow(chain.direction, a, sets)), finalLine],
      }
    : baseline.length > 0
      ? {
          name: `${chain.name}/baseline`,
          lines: [
            ...baseline.map((l) => renderTierLine(chain.direction, l, null, sets)),
            finalLine,
          ],
        }
      : null;
  if (admin.length === 0) {
    if (nextStage === null) throw new RenderError(`the chain of ${chain.pod} has no line`);
    return [block(`chain ${formatName(chain.name)}`, nextStage.lines)];
  }
  const next = nextStage === null ? null : formatName(nextStage.name);
  const entry = block(`chain ${formatName(chain.name)}`, [
    ...admin.map((l) => renderTierLine(chain.direction, l, next, sets)),
    next === null ? finalLine : `goto ${next}`,
  ]);
  return nextStage === null ? [entry] : [entry, block(`chain ${next}`, nextStage.lines)];
}

/** A ClusterNetworkPolicy line: its match, a counter, and its tier's verdict. */
function renderTierLine(
  direction: Direction,
  line: TierRule,
  next: string | null,
  sets: DeclaredSets,
): string {
  const accept = direction === 'ingress' ? 'accept' : 'return';
  const pass = next === null ? 'return' : `goto ${next}`;
  const verdict = line.action === 'Deny' ? 'drop' : line.action === 'Accept' ? accept : pass;
  const action = line.failClosed
    ? 'fail-closed'
    : line.action === 'Accept'
      ? 'accept'
      : line.action === 'Deny'
        ? 'deny'
        : 'pass';
  const tier = line.tier === 'Admin' ? 'admin' : 'baseline';
  const comment = formatTierComment(line.policy, direction, line.rule, tier, action);
  const match = matchOf(direction, line, sets);
  return `${match === '' ? '' : `${match} `}counter ${verdict} comment ${comment}`;
}

/**
 * One allow: `<peer> <ports> counter accept|return comment "…"`, where the
 * peer is the source on ingress and the destination on egress:
 *  - `ip saddr @pods_<hex>_4` (shared set) or `ip saddr { 10.0.0.0/8 }` (ipBlock);
 *  - `meta l4proto . th dport { tcp . 80 }` (inline ports);
 *  - `ip daddr . meta l4proto . th dport @port_<hex>_4` (egress named port).
 */
function renderAllow(direction: Direction, allow: Allow, sets: DeclaredSets): string {
  const verdict = direction === 'ingress' ? 'accept' : 'return';
  const comment = formatAllowComment(allow.policy, direction, allow.rule);
  const match = matchOf(direction, allow, sets);
  return `${match === '' ? '' : `${match} `}counter ${verdict} comment ${comment}`;
}

/** The peer and port matches of an allow or tier line, or '' when it matches everything. */
function matchOf(direction: Direction, allow: Allow, sets: DeclaredSets): string {
  return [
    matchPeer(direction, allow, allow.peer, sets),
    matchPorts(direction, allow, allow.ports, sets),
  ]
    .filter((m) => m !== '')
    .join(' ');
}

function matchPeer(
  direction: Direction,
  allow: Allow,
  peer: PeerMatch,
  sets: DeclaredSets,
): string {
  if (peer.kind === 'all') return '';
  const addr = `${familyOf(allow)} ${direction === 'ingress' ? 'saddr' : 'daddr'}`;
  if (peer.kind === 'set') return `${addr} @${sharedSetRef(peer.set, 'addr', allow, sets)}`;
  if (peer.ranges.length === 0) throw new RenderError(`an allow of ${allow.policy} has no ranges`);
  return `${addr} { ${peer.ranges.map(formatAddrRange).join(', ')} }`;
}

function matchPorts(
  direction: Direction,
  allow: Allow,
  ports: PortMatch,
  sets: DeclaredSets,
): string {
  if (ports.kind === 'all') return '';
  if (ports.kind === 'ports') {
    if (ports.ports.length === 0) throw new RenderError(`an allow of ${allow.policy} has no ports`);
    return `meta l4proto . th dport { ${ports.ports.map(formatProtocolPort).join(', ')} }`;
  }
  if (direction !== 'egress' || allow.peer.kind !== 'all') {
    throw new RenderError(
      `a named-port set is only an egress allow's whole match (${allow.policy})`,
    );
  }
  const ref = sharedSetRef(ports.set, 'addrPort', allow, sets);
  return `${familyOf(allow)} daddr . meta l4proto . th dport @${ref}`;
}

function familyOf(allow: Allow): Family {
  if (allow.family === null) {
    throw new RenderError(`an allow of ${allow.policy} matches addresses but has no family`);
  }
  return allow.family;
}

/**
 * The nft name of shared set `id` in the allow's family, which the plan must
 * declare with `kind` (a peer looks up addresses, a named port
 * address . protocol . port).
 */
function sharedSetRef(id: string, kind: SharedSetKind, allow: Allow, sets: DeclaredSets): string {
  const family = familyOf(allow);
  const declared = sets.get(`${id} ${family}`);
  if (declared === undefined) {
    throw new RenderError(`an allow refers to set ${id} (${family}), which the plan does not have`);
  }
  if (declared !== kind) {
    throw new RenderError(
      `an allow of ${allow.policy} uses set ${id} (${declared}) where a ${kind} set belongs`,
    );
  }
  return formatName(sharedSetName(id, family));
}

function renderPostrouting(failClosed: boolean): string[] {
  const dropUnknown = FAMILIES.map((f) => {
    const cidrs = FAIL_CLOSED_SETS.podCIDRs[f];
    const known = FAIL_CLOSED_SETS.knownPods[f];
    return `${f} daddr @${cidrs} ${f} daddr != @${known} counter drop comment ${quoteComment('fail-closed: pod not yet programmed')}`;
  });
  return block('chain postrouting', [
    'type filter hook postrouting priority srcnat - 5; policy accept;',
    ACCEPT_REPLIES,
    ACCEPT_ND,
    `ip saddr vmap @${DISPATCH_MAPS.egress.ip}`,
    `ip6 saddr vmap @${DISPATCH_MAPS.egress.ip6}`,
    'fib saddr type local accept',
    `ip daddr vmap @${DISPATCH_MAPS.ingress.ip}`,
    `ip6 daddr vmap @${DISPATCH_MAPS.ingress.ip6}`,
    ...(failClosed ? dropUnknown : []),
  ]);
}

/** Pod → its own host is the pod's egress; ingress to the host is not NetworkPolicy's. */
function renderInput(): string[] {
  return block('chain input', [
    'type filter hook input priority 101; policy accept;',
    ACCEPT_REPLIES,
    ACCEPT_ND,
    `ip saddr vmap @${DISPATCH_MAPS.egress.ip}`,
    `ip6 saddr vmap @${DISPATCH_MAPS.egress.ip6}`,
  ]);
}
