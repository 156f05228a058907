/**
 * One NetworkPolicy rule → the allow lines it contributes to one pod's chain.
 * This is the half of translate that knows peers and ports:
 *  - a `pods` peer becomes a reference to its shared set (peer-sets.ts), by
 *    identity, whatever pods it holds now;
 *  - an ipBlock becomes its ranges less the excepts, inline;
 *  - numbered ports become inline protocol . port ranges; an ingress named
 *    port resolves on the chain's own pod, an egress named port becomes a
 *    shared `addr . proto . port` set per (peer, name, protocol), resolved
 *    on each destination pod.
 * An allow line is emitted per family the chain's pod has, where the peer is
 * an address; a line without an address matches both families.
 *
 * Nothing here depends on any pod but the chain's own, so a node's allows
 * change only when its pods or the policies selecting them do. Set ids are
 * hashed once per policy object and peer (a compiler lives as long as the
 * policies it saw).
 */
import { formatIp, mergeRanges, parseCidr, type Range } from './cidr.js';
import { mergeProtocolPorts, type ProtocolPorts } from './intervals.js';
import type {
  ClusterPolicy,
  ClusterRule,
  Direction,
  Family,
  Peer,
  Pod,
  Policy,
  PortSpec,
  Rule,
} from './model.js';
import { clusterPolicyName, qualifiedName } from './model.js';
import {
  blockRanges,
  clusterNamedPortSet,
  clusterPeerSet,
  namedPortSet,
  podsPeerSet,
  type PeerSet,
} from './peer-sets.js';
import type {
  AddrRange,
  Allow,
  PeerMatch,
  PortMatch,
  ProtocolPort,
  SharedSetUse,
  TierRule,
} from './plan.js';
import { resolvePortSpec } from './ports.js';

const FAMILIES: readonly Family[] = ['ip', 'ip6'];

/** Compiles rules into allow lines, remembering set ids per policy. */
export class RuleCompiler {
  /** Sets by policy (NetworkPolicy or ClusterNetworkPolicy object), then by what names them. */
  private readonly ids = new WeakMap<Policy | ClusterPolicy, Map<string, PeerSet>>();

  /**
   * The allows one rule contributes to `pod`'s chain, in line order (numbered
   * ports before named ones, peers in order, IPv4 before IPv6), and the shared
   * sets they use added to `sets` (keyed by nft-independent `id family`).
   * `families`: the families the pod has addresses in.
   */
  compile(
    policy: Policy,
    ruleIndex: number,
    rule: Rule,
    direction: Direction,
    pod: Pod,
    families: ReadonlySet<Family>,
    sets: Map<string, SharedSetUse>,
  ): Allow[] {
    const base = { policy: qualifiedName(policy), rule: ruleIndex };
    const { out, push } = lines(sets, (family, peer, ports): Allow => ({
      ...base,
      family,
      peer,
      ports,
    }));
    /** Lines for `ports` from each peer (or from anywhere when `peers` is null). */
    const fromPeers = (peers: readonly Peer[] | null, ports: PortMatch): void => {
      if (peers === null) {
        push(null, { kind: 'all' }, ports);
        return;
      }
      for (const peer of peers) {
        if (peer.kind === 'pods') {
          const id = this.setOf(policy, `p ${JSON.stringify(peer)}`, () =>
            podsPeerSet(policy, peer),
          ).id;
          for (const f of FAMILIES) if (families.has(f)) push(f, { kind: 'set', set: id }, ports);
        } else {
          for (const [f, ranges] of rangesByFamily(blockRanges(peer), families)) {
            push(f, { kind: 'cidrs', ranges }, ports);
          }
        }
      }
    };

    if (rule.ports === null) {
      fromPeers(rule.peers, { kind: 'all' });
      return out;
    }
    if (direction === 'ingress') {
      // Every port, named ones too, resolves on the chain's pod (the destination).
      const ports = resolveAll(rule.ports, pod);
      if (ports.length > 0) fromPeers(rule.peers, { kind: 'ports', ports });
      return out;
    }
    const numbered = resolveAll(
      rule.ports.filter((s) => typeof s.port !== 'string'),
      null,
    );
    if (numbered.length > 0) fromPeers(rule.peers, { kind: 'ports', ports: numbered });
    for (const spec of uniqueNamed(rule.ports)) {
      for (const peer of rule.peers ?? [null]) {
        const set = this.setOf(
          policy,
          `n ${spec.port} ${spec.protocol} ${JSON.stringify(peer)}`,
          () => namedPortSet(policy, peer, spec.port, spec.protocol),
        );
        for (const f of FAMILIES) {
          if (families.has(f)) push(f, { kind: 'all' }, { kind: 'namedPort', set: set.id });
        }
      }
    }
    return out;
  }

  /**
   * The lines one ClusterNetworkPolicy rule contributes to `pod`'s chain, in
   * line order, with the shared sets they use added to `sets`:
   *  - a rule that fails closed: Accept → none; Deny or Pass → one
   *    match-everything Deny line;
   *  - per peer (`pods` → its shared set, `networks` → inline CIDRs) and per
   *    family the pod has: one line with the numbered ports inline (every
   *    port when the rule names none), ingress named ports resolved on the
   *    pod itself and added to them;
   *  - per egress named port and `pods` peer: one line matching the peer's
   *    `addr . proto . port` set.
   * A line whose ports resolve to nothing is left out (it matches nothing).
   */
  compileCluster(
    cnp: ClusterPolicy,
    ruleIndex: number,
    rule: ClusterRule,
    direction: Direction,
    pod: Pod,
    families: ReadonlySet<Family>,
    sets: Map<string, SharedSetUse>,
  ): TierRule[] {
    const base = {
      policy: clusterPolicyName(cnp),
      rule: ruleIndex,
      tier: cnp.tier,
      name: rule.name,
    };
    if (rule.failClosed !== null) {
      if (rule.action === 'Accept') return [];
      return [
        {
          ...base,
          action: 'Deny',
          failClosed: true,
          family: null,
          peer: { kind: 'all' },
          ports: { kind: 'all' },
        },
      ];
    }
    const { out, push } = lines(sets, (family, peer, ports): TierRule => ({
      ...base,
      action: rule.action,
      failClosed: false,
      family,
      peer,
      ports,
    }));
    const numbered: ProtocolPorts[] = [];
    const named: string[] = [];
    for (const p of rule.ports ?? []) {
      if (p.kind === 'port')
        numbered.push({ protocol: p.protocol, port: { first: p.first, last: p.last } });
      else if (direction === 'ingress') {
        for (const cp of pod.ports) {
          if (cp.name === p.name)
            numbered.push({
              protocol: cp.protocol,
              port: { first: cp.containerPort, last: cp.containerPort },
            });
        }
      } else if (!named.includes(p.name)) named.push(p.name);
    }
    const inline: PortMatch | null =
      rule.ports === null
        ? { kind: 'all' }
        : numbered.length > 0
          ? { kind: 'ports', ports: mergeProtocolPorts(numbered) }
          : null;
    for (const peer of rule.peers) {
      if (peer.kind === 'pods') {
        const set = this.setOf(cnp, `p ${JSON.stringify(peer)}`, () => clusterPeerSet(peer));
        for (const f of FAMILIES) {
          if (!families.has(f)) continue;
          if (inline !== null) push(f, { kind: 'set', set: set.id }, inline);
        }
        for (const name of named) {
          const portSet = this.setOf(cnp, `n ${name} ${JSON.stringify(peer)}`, () =>
            clusterNamedPortSet(peer, name),
          );
          for (const f of FAMILIES) {
            if (families.has(f)) push(f, { kind: 'all' }, { kind: 'namedPort', set: portSet.id });
          }
        }
      } else if (inline !== null) {
        const ranges = mergeRanges(peer.cidrs.map((c) => parseCidr(c)));
        for (const [f, own] of rangesByFamily(ranges, families)) {
          push(f, { kind: 'cidrs', ranges: own }, inline);
        }
      }
    }
    return out;
  }

  private setOf(policy: Policy | ClusterPolicy, key: string, make: () => PeerSet): PeerSet {
    let byKey = this.ids.get(policy);
    if (byKey === undefined) {
      byKey = new Map();
      this.ids.set(policy, byKey);
    }
    let set = byKey.get(key);
    if (set === undefined) {
      set = make();
      byKey.set(key, set);
    }
    return set;
  }
}

/**
 * The lines of one rule as they are pushed: each (family, peer, ports) once
 * (a peer repeated within the rule adds nothing), made by `make`, and the
 * shared sets a line uses recorded in `sets`.
 */
function lines<T>(
  sets: Map<string, SharedSetUse>,
  make: (family: Family | null, peer: PeerMatch, ports: PortMatch) => T,
): { out: T[]; push: (family: Family | null, peer: PeerMatch, ports: PortMatch) => void } {
  const out: T[] = [];
  const seen = new Set<string>();
  const push = (family: Family | null, peer: PeerMatch, ports: PortMatch): void => {
    const key = JSON.stringify([family, peer, ports]);
    if (seen.has(key)) return;
    seen.add(key);
    out.push(make(family, peer, ports));
    if (family === null) return;
    if (peer.kind === 'set') useSet(sets, peer.set, 'addr', family);
    if (ports.kind === 'namedPort') useSet(sets, ports.set, 'addrPort', family);
  };
  return { out, push };
}

/** `ranges` split by family, for the families the pod has, each non-empty, IPv4 first. */
function rangesByFamily(
  ranges: readonly Range[],
  families: ReadonlySet<Family>,
): [Family, AddrRange[]][] {
  return FAMILIES.flatMap((f): [Family, AddrRange[]][] => {
    const own = ranges.filter((r) => r.family === f);
    return families.has(f) && own.length > 0 ? [[f, own.map(addrRange)]] : [];
  });
}

/** Records that a line uses shared set `id` in `family` (keyed `id family`). */
function useSet(
  sets: Map<string, SharedSetUse>,
  id: string,
  kind: SharedSetUse['kind'],
  family: Family,
): void {
  const key = `${id} ${family}`;
  if (!sets.has(key)) sets.set(key, { id, kind, family });
}

/** The named port specs of `specs`, each name and protocol once, in order. */
function uniqueNamed(
  specs: readonly PortSpec[],
): { readonly port: string; readonly protocol: PortSpec['protocol'] }[] {
  const seen = new Set<string>();
  const out: { port: string; protocol: PortSpec['protocol'] }[] = [];
  for (const s of specs) {
    if (typeof s.port !== 'string') continue;
    const key = `${s.port}/${s.protocol}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ port: s.port, protocol: s.protocol });
  }
  return out;
}

/** The port ranges `specs` allow on `pod` (the destination), named ports that miss dropped. */
function resolveAll(specs: readonly PortSpec[], pod: Pod | null): ProtocolPort[] {
  const out: ProtocolPorts[] = [];
  for (const spec of specs) {
    const port = resolvePortSpec(spec, pod);
    if (port !== null) out.push({ protocol: spec.protocol, port });
  }
  return mergeProtocolPorts(out);
}

function addrRange(r: Range): AddrRange {
  return {
    first: formatIp({ family: r.family, value: r.first }),
    last: formatIp({ family: r.family, value: r.last }),
  };
}
