/**
 * One NetworkPolicy rule → the contents of the sets its allow lines match.
 * This is the half of translate that knows peers and ports: selectors become
 * pod addresses (through cluster-index.ts), ipBlocks become ranges less their
 * excepts, port specs become protocol/port ranges (named ports resolved on
 * the destination pod), and the result is cut into disjoint, sorted elements
 * per address family.
 *
 * Compiled contents are remembered per rule whenever they do not depend on the
 * local pod — every egress rule, and ingress rules without named ports — so a
 * translator shared across nodes compiles each such rule once per cluster.
 * They are also remembered by what determines them (direction, peers with the
 * namespace they default to, resolved ports), so rules of different policies
 * that say the same thing share one compiled content and one NamedSet object:
 * a large cluster has thousands of policies but few distinct rules, and
 * render can reuse a set's text across nodes by that object's identity.
 */
import {
  formatIp,
  mergeRanges,
  parseCidr,
  rangeContains,
  subtractRanges,
  type Address,
  type Range,
} from './cidr.js';
import { podsPeerKey, type ClusterIndex, type Target } from './cluster-index.js';
import {
  decomposeRectangles,
  mergeProtocolPorts,
  type ProtocolPorts,
  type Rectangle,
} from './intervals.js';
import type { Direction, Family, Peer, Pod, Policy, PortSpec, Rule } from './model.js';
import type { AddrRange, Match, NamedSet, PortRange, SetElement, SetKind } from './plan.js';
import { resolvePortSpec } from './ports.js';
import { nameSet } from './set-name.js';

const FAMILIES: readonly Family[] = ['ip', 'ip6'];

/** A set's content before it is named, or "match everything". */
export type Content =
  | 'all'
  | {
      readonly kind: SetKind;
      readonly family: Family | null;
      readonly elements: readonly SetElement[];
    };

/**
 * What a rule's peers select, as text: equal keys mean equal peers once the
 * policy's namespace is filled in where a pods peer defaults to it.
 */
function peersKey(policy: Policy, peers: readonly Peer[] | null): string {
  if (peers === null) return 'any';
  return peers
    .map((p) => (p.kind === 'pods' ? podsPeerKey(policy, p) : JSON.stringify(p)))
    .join('\n');
}

/** One peer as addresses, plus the pods inside them when named ports need them. */
interface PeerAddresses {
  readonly ranges: readonly Range[];
  /** Enforceable pod addresses within `ranges`. */
  readonly targets: () => readonly Target[];
}

/** Compiles rules into set contents, remembering results that do not depend on the pod. */
export class RuleCompiler {
  /** Per policy and rule (cheap key); falls back to {@link shared}. */
  private readonly memo = new Map<Policy, Map<string, readonly Content[]>>();
  /** By what determines the contents, across policies. */
  private readonly shared = new Map<string, readonly Content[]>();
  private readonly sets = new WeakMap<object, NamedSet>();
  /** Merged peer ranges by {@link peersKey}. */
  private readonly peerMemo = new Map<string, readonly Range[]>();
  private readonly index: ClusterIndex;

  constructor(index: ClusterIndex) {
    this.index = index;
  }

  /** The contents one rule contributes to `pod`'s chain, in allow order. */
  compile(
    policy: Policy,
    ruleIndex: number,
    rule: Rule,
    direction: Direction,
    pod: Pod,
  ): readonly Content[] {
    if (rule.peers === null && rule.ports === null) return ['all'];
    // Ingress named ports resolve on the chain's pod; everything else is pod-independent.
    const localPorts =
      direction === 'ingress' && rule.ports !== null ? resolveAll(rule.ports, pod) : null;
    const key = `${direction} ${ruleIndex} ${localPorts === null ? '' : JSON.stringify(localPorts)}`;
    let byRule = this.memo.get(policy);
    if (!byRule) {
      byRule = new Map();
      this.memo.set(policy, byRule);
    }
    let contents = byRule.get(key);
    if (!contents) {
      const peers = peersKey(policy, rule.peers);
      const ports = localPorts === null ? JSON.stringify(rule.ports) : JSON.stringify(localPorts);
      const sharedKey = `${direction}\n${ports}\n${peers}`;
      contents = this.shared.get(sharedKey);
      if (!contents) {
        contents =
          direction === 'ingress'
            ? this.compileIngress(policy, rule, peers, localPorts)
            : this.compileEgress(policy, rule, peers);
        this.shared.set(sharedKey, contents);
      }
      byRule.set(key, contents);
    }
    return contents;
  }

  /**
   * The match for `content`, adding its set to `sets` on first use. The set
   * is named (hashed) once per content, and the same content always yields the
   * same NamedSet object, in every plan of this translator.
   */
  matchFor(content: Content, sets: Map<string, NamedSet>): Match {
    if (content === 'all') return { kind: 'all' };
    let set = this.sets.get(content);
    if (set === undefined) {
      set = { name: nameSet(content.kind, content.family, content.elements), ...content };
      this.sets.set(content, set);
    }
    if (!sets.has(set.name)) sets.set(set.name, set);
    return { kind: 'set', set: set.name };
  }

  private compileIngress(
    policy: Policy,
    rule: Rule,
    peersKey: string,
    ports: readonly ProtocolPorts[] | null,
  ): Content[] {
    if (rule.peers === null) return ports === null ? ['all'] : portContents(ports);
    const ranges = this.mergedPeerRanges(policy, rule.peers, peersKey);
    if (ports === null) return addrContents(ranges);
    return addrPortContents(product(ranges, ports));
  }

  private compileEgress(policy: Policy, rule: Rule, peersKey: string): Content[] {
    if (rule.ports === null) {
      if (rule.peers === null) return ['all'];
      return addrContents(this.mergedPeerRanges(policy, rule.peers, peersKey));
    }
    const numbered = resolveAll(
      rule.ports.filter((s) => typeof s.port !== 'string'),
      null,
    );
    const named = rule.ports.filter((s) => typeof s.port === 'string');
    const onPod = (targets: readonly Target[]): Rectangle[] =>
      named.length === 0
        ? []
        : targets.flatMap((t) =>
            resolveAll(named, t.pod).map((p) => ({ addr: single(t.addr), ...p })),
          );
    if (rule.peers === null) {
      // Any address on the numbered ports; pods only on the ports their names resolve to.
      return [...portContents(numbered), ...addrPortContents(onPod(this.index.targets))];
    }
    if (named.length === 0) {
      const ranges = this.mergedPeerRanges(policy, rule.peers, peersKey);
      return addrPortContents(product(ranges, numbered));
    }
    const rects: Rectangle[] = [];
    for (const peer of rule.peers.map((p) => this.resolvePeer(policy, p))) {
      for (const addr of peer.ranges) for (const p of numbered) rects.push({ addr, ...p });
      rects.push(...onPod(peer.targets()));
    }
    return addrPortContents(rects);
  }

  /** The union of a rule's peers as merged ranges; computed once per distinct peer list. */
  private mergedPeerRanges(
    policy: Policy,
    peers: readonly Peer[],
    peersKey: string,
  ): readonly Range[] {
    let ranges = this.peerMemo.get(peersKey);
    if (!ranges) {
      ranges = mergeRanges(peers.flatMap((p) => this.resolvePeer(policy, p).ranges));
      this.peerMemo.set(peersKey, ranges);
    }
    return ranges;
  }

  private resolvePeer(policy: Policy, peer: Peer): PeerAddresses {
    if (peer.kind === 'pods') {
      const targets = this.index.podPeerTargets(policy, peer);
      return { ranges: targets.map((t) => single(t.addr)), targets: () => targets };
    }
    const ranges = subtractRanges(parseCidr(peer.cidr), peer.except.map(parseCidr));
    return {
      ranges,
      targets: () => this.index.targets.filter((t) => ranges.some((r) => rangeContains(r, t.addr))),
    };
  }
}

/** The port ranges `specs` allow on `pod` (the destination), named ports that miss dropped. */
function resolveAll(specs: readonly PortSpec[], pod: Pod | null): ProtocolPorts[] {
  const out: ProtocolPorts[] = [];
  for (const spec of specs) {
    const port = resolvePortSpec(spec, pod);
    if (port !== null) out.push({ protocol: spec.protocol, port });
  }
  return mergeProtocolPorts(out);
}

/** The family-independent `port` content, or nothing when no port is left. */
function portContents(ports: readonly ProtocolPorts[]): Content[] {
  const elements = mergeProtocolPorts(ports).map((p) => ({ protocol: p.protocol, port: p.port }));
  return elements.length > 0 ? [{ kind: 'port', family: null, elements }] : [];
}

/** One `addr` content per family that has any address; empty families omitted. */
function addrContents(ranges: readonly Range[]): Content[] {
  const merged = mergeRanges(ranges);
  return FAMILIES.flatMap((family): Content[] => {
    const elements = merged.filter((r) => r.family === family).map((r) => ({ addr: addrRange(r) }));
    return elements.length > 0 ? [{ kind: 'addr', family, elements }] : [];
  });
}

/**
 * Every merged address range with every merged protocol/port: already disjoint
 * (ranges are disjoint and not adjacent, ports disjoint per protocol) and, as
 * `mergeRanges` and `mergeProtocolPorts` sort, already in element order — so
 * the common case needs no decomposition.
 */
function product(merged: readonly Range[], ports: readonly ProtocolPorts[]): Product {
  const pp = mergeProtocolPorts(ports);
  return { disjoint: merged.flatMap((addr) => pp.map((p) => ({ addr, ...p }))) };
}

/** Rectangles known to be disjoint and sorted as decomposeRectangles returns them. */
interface Product {
  readonly disjoint: readonly Rectangle[];
}

/** One `addrPort` content per family that has any rectangle; empty families omitted. */
function addrPortContents(rects: readonly Rectangle[] | Product): Content[] {
  const disjoint = 'disjoint' in rects ? rects.disjoint : decomposeRectangles(rects);
  return FAMILIES.flatMap((family): Content[] => {
    const elements = disjoint
      .filter((r) => r.addr.family === family)
      .map((r) => ({ addr: addrRange(r.addr), protocol: r.protocol, port: portRange(r.port) }));
    return elements.length > 0 ? [{ kind: 'addrPort', family, elements }] : [];
  });
}

function addrRange(r: Range): AddrRange {
  return {
    first: formatIp({ family: r.family, value: r.first }),
    last: formatIp({ family: r.family, value: r.last }),
  };
}

function portRange(p: PortRange): PortRange {
  return { first: p.first, last: p.last };
}

function single(addr: Address): Range {
  return { family: addr.family, first: addr.value, last: addr.value };
}
