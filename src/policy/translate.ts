/**
 * translate: cluster snapshot → one node's FirewallPlan. This is where
 * NetworkPolicy semantics become sets and allow lines; render only spells the
 * plan in nft syntax.
 *
 * For each enforceable pod on the node and each direction, the policies of its
 * namespace that select it with that policy type isolate it; its chain then
 * holds one allow per rule (per address family where peers are addresses),
 * each matching a content-named set of disjoint interval elements:
 *  - peers and ports → `addrPort` (peer address . protocol . port);
 *  - peers only → `addr`; ports only → `port` (either family);
 *  - neither → match everything.
 * Named ports resolve on the destination pod: for ingress the chain's own pod,
 * for egress each peer pod (an ipBlock peer contributes the enforceable pods
 * inside it). A rule that matches nothing on a family emits nothing for it.
 *
 * Pure and deterministic: inputs are indexed and sorted first, so the same
 * cluster in any array order gives a deep-equal plan.
 */
import {
  formatIp,
  mergeRanges,
  parseCidr,
  parseIp,
  rangeContains,
  subtractRanges,
  type Address,
  type Range,
} from './cidr.js';
import {
  decomposeRectangles,
  mergeProtocolPorts,
  type ProtocolPorts,
  type Rectangle,
} from './intervals.js';
import {
  isEnforceable,
  qualifiedName,
  type Cluster,
  type Direction,
  type Family,
  type Labels,
  type Peer,
  type Pod,
  type Policy,
  type PortSpec,
  type Rule,
} from './model.js';
import type {
  AddrRange,
  Allow,
  FailClosed,
  FirewallPlan,
  Match,
  NamedSet,
  PodChain,
  PortRange,
  SetElement,
  SetKind,
} from './plan.js';
import { resolvePortSpec } from './ports.js';
import { matchesSelector } from './selector.js';
import { nameSet, shortenName } from './set-name.js';

/** Options of {@link translateNode}. */
export interface TranslateOptions {
  /**
   * Fill `plan.failClosed` so that render drops local pod-CIDR addresses the
   * plan does not know yet (the new-pod startup race).
   * @default false
   */
  readonly failClosed?: boolean;
}

/** Longest chain name translate emits; longer names are shortened with a hash. */
export const MAX_CHAIN_NAME = 200;

const FAMILIES: readonly Family[] = ['ip', 'ip6'];
const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];
const CHAIN_PREFIX: Readonly<Record<Direction, string>> = { ingress: 'in', egress: 'eg' };

/**
 * Translates the cluster's policies for the pods on `nodeName`.
 *
 * Guarantees:
 *  - a chain exists for a local enforceable pod and direction exactly when a
 *    policy of its namespace selects it with that type;
 *  - chains, sets, policies, set elements and IP lists are sorted; sets are
 *    unique by content and each is referenced by at least one allow;
 *  - set elements are pairwise disjoint;
 *  - the result does not depend on the order of the cluster's arrays.
 *
 * @throws CidrError when an ipBlock or pod IP does not parse (the loader
 *   validates them, so this signals a bug upstream).
 * @throws Error when two chain names collide (duplicate pods in the input).
 */
export function translateNode(
  cluster: Cluster,
  nodeName: string,
  options: TranslateOptions = {},
): FirewallPlan {
  return translatorFor(cluster)(nodeName, options);
}

/**
 * Indexes `cluster` once and returns {@link translateNode} bound to it: the
 * same plans, but translating many nodes shares the index and every compiled
 * rule that does not depend on the local pod (all egress rules, and ingress
 * rules without named ports). The cluster must not change while in use.
 *
 * @throws CidrError when a pod IP does not parse.
 */
export function translatorFor(
  cluster: Cluster,
): (nodeName: string, options?: TranslateOptions) => FirewallPlan {
  const index = new ClusterIndex(cluster);
  const compiler = new RuleCompiler(index);
  return (nodeName, options = {}) => buildPlan(cluster, index, compiler, nodeName, options);
}

function buildPlan(
  cluster: Cluster,
  index: ClusterIndex,
  compiler: RuleCompiler,
  nodeName: string,
  options: TranslateOptions,
): FirewallPlan {
  const localPods = index.podsOn(nodeName);
  const sets = new Map<string, NamedSet>();
  const chains: PodChain[] = [];
  const policies = new Set<string>();

  for (const pod of localPods) {
    const families = new Set(index.addresses(pod).map((a) => a.family));
    for (const direction of DIRECTIONS) {
      const selecting = index.policies.filter((p) => selectsPod(p, pod, direction));
      if (selecting.length === 0) continue;
      const allows: Allow[] = [];
      for (const policy of selecting) {
        const name = qualifiedName(policy);
        policies.add(name);
        rulesOf(policy, direction).forEach((rule, i) => {
          for (const content of compiler.compile(policy, i, rule, direction, pod)) {
            if (content !== 'all' && content.family !== null && !families.has(content.family)) {
              continue; // the pod sends and receives nothing on this family
            }
            allows.push({ policy: name, rule: i, match: compiler.matchFor(content, sets) });
          }
        });
      }
      chains.push({
        name: chainName(direction, pod),
        pod: qualifiedName(pod),
        direction,
        ips: sortIps(pod.ips),
        policies: selecting.map(qualifiedName),
        allows,
      });
    }
  }

  chains.sort((a, b) => compareText(a.name, b.name));
  for (let i = 1; i < chains.length; i++) {
    if (chains[i]?.name === chains[i - 1]?.name) {
      throw new Error(`duplicate chain name "${chains[i]?.name ?? ''}" on node ${nodeName}`);
    }
  }
  return {
    node: nodeName,
    chains,
    sets: [...sets.values()].sort((a, b) => compareText(a.name, b.name)),
    policies: [...policies].sort(compareText),
    localPods: localPods.length,
    failClosed: options.failClosed === true ? failClosedFor(cluster, nodeName, localPods) : null,
  };
}

/** `in_<ns>_<pod>` / `eg_<ns>_<pod>`, shortened with a hash beyond {@link MAX_CHAIN_NAME}. */
export function chainName(direction: Direction, pod: { namespace: string; name: string }): string {
  return shortenName(`${CHAIN_PREFIX[direction]}_${pod.namespace}_${pod.name}`, MAX_CHAIN_NAME);
}

/** True when `policy` isolates `pod` for `direction`. */
export function selectsPod(policy: Policy, pod: Pod, direction: Direction): boolean {
  return (
    policy.namespace === pod.namespace &&
    policy.policyTypes.includes(direction) &&
    matchesSelector(policy.podSelector, pod.labels)
  );
}

function rulesOf(policy: Policy, direction: Direction): readonly Rule[] {
  return direction === 'ingress' ? policy.ingress : policy.egress;
}

/** A set's content before it is named, or "match everything". */
type Content =
  | 'all'
  | {
      readonly kind: SetKind;
      readonly family: Family | null;
      readonly elements: readonly SetElement[];
    };

/** An enforceable pod's address: what a named port on a peer resolves against. */
interface Target {
  readonly addr: Address;
  readonly pod: Pod;
}

/** The cluster, indexed once per translation. */
class ClusterIndex {
  /** Enforceable pods, sorted by namespace/name. */
  readonly pods: readonly Pod[];
  /** Policies sorted by namespace/name. */
  readonly policies: readonly Policy[];
  /** Every address of every enforceable pod, sorted. */
  readonly targets: readonly Target[];
  private readonly byNode = new Map<string, Pod[]>();
  private readonly namespaceLabels: ReadonlyMap<string, Labels>;
  private readonly parsed = new Map<Pod, readonly Address[]>();

  constructor(cluster: Cluster) {
    this.pods = cluster.pods
      .filter(isEnforceable)
      .sort((a, b) => compareText(qualifiedName(a), qualifiedName(b)));
    this.policies = [...cluster.policies].sort((a, b) =>
      compareText(qualifiedName(a), qualifiedName(b)),
    );
    this.namespaceLabels = new Map(cluster.namespaces.map((n) => [n.name, n.labels]));
    for (const pod of this.pods) {
      const list = this.byNode.get(pod.nodeName);
      if (list) list.push(pod);
      else this.byNode.set(pod.nodeName, [pod]);
    }
    this.targets = this.pods
      .flatMap((pod) => this.addresses(pod).map((addr) => ({ addr, pod })))
      .sort((a, b) => compareAddresses(a.addr, b.addr));
  }

  /** Enforceable pods scheduled on `nodeName`, sorted. */
  podsOn(nodeName: string): readonly Pod[] {
    return this.byNode.get(nodeName) ?? [];
  }

  addresses(pod: Pod): readonly Address[] {
    let addrs = this.parsed.get(pod);
    if (!addrs) {
      addrs = pod.ips.map(parseIp);
      this.parsed.set(pod, addrs);
    }
    return addrs;
  }

  /** Enforceable pod addresses a `pods` peer of `policy` selects. */
  podPeerTargets(policy: Policy, peer: Extract<Peer, { kind: 'pods' }>): Target[] {
    const inNamespace = (ns: string): boolean => {
      if (peer.namespaceSelector === null) return ns === policy.namespace;
      // A namespace missing from the snapshot still has the label the API server sets.
      const labels = this.namespaceLabels.get(ns) ?? { 'kubernetes.io/metadata.name': ns };
      return matchesSelector(peer.namespaceSelector, labels);
    };
    return this.targets.filter(
      (t) => inNamespace(t.pod.namespace) && matchesSelector(peer.podSelector, t.pod.labels),
    );
  }
}

/** One peer as addresses, plus the pods inside them when named ports need them. */
interface PeerAddresses {
  readonly ranges: readonly Range[];
  /** Enforceable pod addresses within `ranges`. */
  readonly targets: () => readonly Target[];
}

/** Compiles rules into set contents, remembering results that do not depend on the pod. */
class RuleCompiler {
  private readonly memo = new Map<Policy, Map<string, readonly Content[]>>();
  private readonly names = new WeakMap<object, string>();
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
      contents =
        direction === 'ingress'
          ? this.compileIngress(policy, rule, localPorts)
          : this.compileEgress(policy, rule);
      byRule.set(key, contents);
    }
    return contents;
  }

  /** The match for `content`, adding its set to `sets` on first use (hashing it once). */
  matchFor(content: Content, sets: Map<string, NamedSet>): Match {
    if (content === 'all') return { kind: 'all' };
    let name = this.names.get(content);
    if (name === undefined) {
      name = nameSet(content.kind, content.family, content.elements);
      this.names.set(content, name);
    }
    if (!sets.has(name)) sets.set(name, { name, ...content });
    return { kind: 'set', set: name };
  }

  private compileIngress(
    policy: Policy,
    rule: Rule,
    ports: readonly ProtocolPorts[] | null,
  ): Content[] {
    if (rule.peers === null) return ports === null ? ['all'] : portContents(ports);
    const peers = rule.peers.map((p) => this.resolvePeer(policy, p));
    const ranges = peers.flatMap((p) => p.ranges);
    if (ports === null) return addrContents(ranges);
    return addrPortContents(ranges.flatMap((addr) => ports.map((p) => ({ addr, ...p }))));
  }

  private compileEgress(policy: Policy, rule: Rule): Content[] {
    if (rule.ports === null) {
      if (rule.peers === null) return ['all'];
      return addrContents(rule.peers.flatMap((p) => this.resolvePeer(policy, p).ranges));
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
    const rects: Rectangle[] = [];
    for (const peer of rule.peers.map((p) => this.resolvePeer(policy, p))) {
      for (const addr of peer.ranges) for (const p of numbered) rects.push({ addr, ...p });
      rects.push(...onPod(peer.targets()));
    }
    return addrPortContents(rects);
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

/** One `addrPort` content per family that has any rectangle; empty families omitted. */
function addrPortContents(rects: readonly Rectangle[]): Content[] {
  const disjoint = decomposeRectangles(rects);
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

function failClosedFor(cluster: Cluster, nodeName: string, localPods: readonly Pod[]): FailClosed {
  const node = cluster.nodes.find((n) => n.name === nodeName);
  return {
    podCIDRs: [...(node?.podCIDRs ?? [])].sort(compareText),
    knownPodIPs: sortIps([...new Set(localPods.flatMap((p) => p.ips))]),
  };
}

/** IPs sorted IPv4 first, then numerically. */
function sortIps(ips: readonly string[]): string[] {
  return ips
    .map((text) => ({ text, addr: parseIp(text) }))
    .sort((a, b) => compareAddresses(a.addr, b.addr))
    .map((x) => x.text);
}

function compareAddresses(a: Address, b: Address): number {
  if (a.family !== b.family) return a.family === 'ip' ? -1 : 1;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/** Code-unit order: locale-independent, so output is the same on every host. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
