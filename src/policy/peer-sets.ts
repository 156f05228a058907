/**
 * Shared peer sets (v2): a `pods` peer, or an egress named port on a peer,
 * becomes one set named by its identity — what the peer says, with the
 * policy's namespace filled in where it defaults to it — never by its
 * members. Identical peers in different policies are one set, a pod coming
 * or going never renames a set, and so never touches the NodeFirewalls whose
 * rules name it: only the set's AddressSet slices change.
 *
 * This file defines the identities and computes members from scratch (the
 * CLI, tests, and the reference the controller's incremental memberships are
 * checked against). Members are nft element texts, as AddressSets carry them:
 * `10.0.0.7`, `fd00::7`, or `10.0.0.7 . tcp . 8080` for named ports.
 *
 * Pure: node:crypto's hash is computation only.
 */
import { formatIp, parseCidr, rangeContains, subtractRanges, type Range } from './cidr.js';
import type { ClusterIndex, Target } from './cluster-index.js';
import type { LabelSelector, Peer, Policy, Protocol, SelectorRequirement } from './model.js';
import { compareText } from './order.js';
import type { SharedSetKind } from './plan.js';
import { resolvePortSpec } from './ports.js';
import { shortHash } from './set-name.js';

type PodsPeer = Extract<Peer, { kind: 'pods' }>;
type BlockPeer = Extract<Peer, { kind: 'ipBlock' }>;

/**
 * Who a set's addresses are:
 *  - `pods`: pods of `namespace` (podSelector alone) or of the namespaces
 *    `namespaceSelector` selects, that `podSelector` selects;
 *  - `ipBlock`: enforceable pods inside the block (only as a named port's peer);
 *  - `all`: every enforceable pod (a named port on a rule without `to`).
 */
export type SetPeer =
  | {
      readonly kind: 'pods';
      readonly namespace: string | null;
      readonly namespaceSelector: LabelSelector | null;
      readonly podSelector: LabelSelector;
    }
  | { readonly kind: 'ipBlock'; readonly cidr: string; readonly except: readonly string[] }
  | { readonly kind: 'all' };

/** One shared set: its id, what it holds, and who it stands for. */
export interface PeerSet {
  /** `pods-<16 hex>` (kind addr) or `port-<16 hex>` (kind addrPort). */
  readonly id: string;
  readonly kind: SharedSetKind;
  readonly peer: SetPeer;
  /** For `addrPort` sets: the port name and protocol resolved on each pod. */
  readonly namedPort: { readonly name: string; readonly protocol: Protocol } | null;
}

/** The set of a `pods` peer of `policy`. */
export function podsPeerSet(policy: Policy, peer: PodsPeer): PeerSet {
  const setPeer = podsSetPeer(policy, peer);
  return {
    id: `pods-${shortHash(identityText(setPeer, null))}`,
    kind: 'addr',
    peer: setPeer,
    namedPort: null,
  };
}

/** The set of egress named port `name`/`protocol` on `peer` of `policy` (null: any destination). */
export function namedPortSet(
  policy: Policy,
  peer: Peer | null,
  name: string,
  protocol: Protocol,
): PeerSet {
  const setPeer: SetPeer =
    peer === null
      ? { kind: 'all' }
      : peer.kind === 'pods'
        ? podsSetPeer(policy, peer)
        : { kind: 'ipBlock', cidr: peer.cidr, except: [...peer.except].sort(compareText) };
  const namedPort = { name, protocol };
  return {
    id: `port-${shortHash(identityText(setPeer, namedPort))}`,
    kind: 'addrPort',
    peer: setPeer,
    namedPort,
  };
}

/**
 * Every shared set the policies' rules define, by id, sorted by id. A set is
 * defined by a rule whatever pods the policy selects; a node references the
 * subset its chains use (FirewallPlan.sets).
 */
export function peerSetsOf(policies: readonly Policy[]): Map<string, PeerSet> {
  const found = new Map<string, PeerSet>();
  const add = (s: PeerSet): void => {
    if (!found.has(s.id)) found.set(s.id, s);
  };
  for (const policy of policies) {
    for (const direction of ['ingress', 'egress'] as const) {
      for (const rule of direction === 'ingress' ? policy.ingress : policy.egress) {
        for (const peer of rule.peers ?? [])
          if (peer.kind === 'pods') add(podsPeerSet(policy, peer));
        if (direction !== 'egress') continue;
        for (const spec of rule.ports ?? []) {
          if (typeof spec.port !== 'string') continue;
          for (const peer of rule.peers ?? [null]) {
            add(namedPortSet(policy, peer, spec.port, spec.protocol));
          }
        }
      }
    }
  }
  return new Map([...found].sort(([a], [b]) => compareText(a, b)));
}

/**
 * The members of `set` in the cluster `index` holds, as element texts,
 * unique, in address order (then protocol, port). Pods are the index's
 * targets: enforceable, at the IPs enforced for them (shared-ips.ts).
 */
export function membersOf(set: PeerSet, index: ClusterIndex): string[] {
  const targets = targetsOf(set.peer, index);
  if (set.namedPort === null) return unique(targets.map((t) => formatIp(t.addr)));
  const { name, protocol } = set.namedPort;
  const out: string[] = [];
  for (const t of targets) {
    const port = resolvePortSpec({ protocol, port: name }, t.pod);
    if (port !== null) out.push(namedPortMember(formatIp(t.addr), protocol, port.first));
  }
  return unique(out);
}

/** `10.0.0.7 . tcp . 8080`: one member of a named-port set. */
export function namedPortMember(ip: string, protocol: Protocol, port: number): string {
  return `${ip} . ${protocol.toLowerCase()} . ${port}`;
}

/** A one-line description of the set for people (`AddressSet.spec.peer`). */
export function describePeerSet(set: PeerSet): string {
  const peer = set.peer;
  let who: string;
  if (peer.kind === 'all') who = 'any pod';
  else if (peer.kind === 'ipBlock') {
    who = `pods in ${peer.cidr}${peer.except.length > 0 ? ` except ${peer.except.join(', ')}` : ''}`;
  } else {
    const ns =
      peer.namespaceSelector === null
        ? `namespace ${peer.namespace ?? ''}`
        : `namespaces ${describeSelector(peer.namespaceSelector)}`;
    who = `pods ${describeSelector(peer.podSelector)} in ${ns}`;
  }
  const text =
    set.namedPort === null ? who : `${who}, port ${set.namedPort.name}/${set.namedPort.protocol}`;
  return text.length <= 1024 ? text : `${text.slice(0, 1021)}...`;
}

/** `{app=web, tier in (a,b)}`, `{}` for the empty selector. */
function describeSelector(selector: LabelSelector): string {
  const c = canonicalSelector(selector);
  const parts = [
    ...c.matchLabels.map(([k, v]) => `${k}=${v}`),
    ...c.matchExpressions.map((r) =>
      r.values.length > 0
        ? `${r.key} ${r.operator} (${r.values.join(',')})`
        : `${r.key} ${r.operator}`,
    ),
  ];
  return `{${parts.join(', ')}}`;
}

function podsSetPeer(policy: Policy, peer: PodsPeer): SetPeer {
  return {
    kind: 'pods',
    namespace: peer.namespaceSelector === null ? policy.namespace : null,
    namespaceSelector: peer.namespaceSelector,
    podSelector: peer.podSelector,
  };
}

interface CanonicalSelector {
  readonly matchLabels: readonly (readonly [string, string])[];
  readonly matchExpressions: readonly SelectorRequirement[];
}

/** The selector with labels and requirements sorted and values sorted, unique. */
function canonicalSelector(selector: LabelSelector): CanonicalSelector {
  return {
    matchLabels: Object.entries(selector.matchLabels).sort(([a], [b]) => compareText(a, b)),
    matchExpressions: selector.matchExpressions
      .map((r) => ({
        key: r.key,
        operator: r.operator,
        values: unique([...r.values].sort(compareText)),
      }))
      .sort((a, b) => compareText(JSON.stringify(a), JSON.stringify(b)))
      .filter((r, i, all) => i === 0 || JSON.stringify(r) !== JSON.stringify(all[i - 1])),
  };
}

/** The text a set id hashes: the peer with canonical selectors, then the named port. */
function identityText(peer: SetPeer, namedPort: PeerSet['namedPort']): string {
  const p =
    peer.kind === 'pods'
      ? {
          kind: peer.kind,
          namespace: peer.namespace,
          namespaceSelector:
            peer.namespaceSelector === null ? null : canonicalSelector(peer.namespaceSelector),
          podSelector: canonicalSelector(peer.podSelector),
        }
      : peer;
  return JSON.stringify({ peer: p, namedPort });
}

/** The index's targets a set's peer covers, in address order. */
function targetsOf(peer: SetPeer, index: ClusterIndex): readonly Target[] {
  if (peer.kind === 'all') return index.targets;
  if (peer.kind === 'ipBlock') {
    const ranges = blockRanges(peer);
    return index.targets.filter((t) => ranges.some((r) => rangeContains(r, t.addr)));
  }
  return index.selectTargets(peer.namespace, peer.namespaceSelector, peer.podSelector);
}

/** An ipBlock as address ranges, its excepts cut out. */
export function blockRanges(peer: Pick<BlockPeer, 'cidr' | 'except'>): Range[] {
  return subtractRanges(parseCidr(peer.cidr), peer.except.map(parseCidr));
}

function unique(items: readonly string[]): string[] {
  return items.filter((x, i) => i === 0 || x !== items[i - 1]);
}
