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
import type {
  Cluster,
  ClusterPolicy,
  LabelSelector,
  Peer,
  Pod,
  Policy,
  Protocol,
  SelectorRequirement,
} from './model.js';
import { compareText } from './order.js';
import type { SharedSetKind } from './plan.js';
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
  /**
   * For `addrPort` sets: the port name resolved on each pod, and its
   * protocol (NetworkPolicy names one; null for a ClusterNetworkPolicy's
   * `destinationNamedPort`, which takes the container port's own).
   */
  readonly namedPort: { readonly name: string; readonly protocol: Protocol | null } | null;
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
  return namedPortSetOf(setPeer, name, protocol);
}

/**
 * The set of a ClusterNetworkPolicy `pods` (or `namespaces`) peer: the same
 * identity, and so the same set, as a NetworkPolicy peer with both selectors.
 */
export function clusterPeerSet(peer: {
  readonly namespaceSelector: LabelSelector;
  readonly podSelector: LabelSelector;
}): PeerSet {
  const setPeer: SetPeer = {
    kind: 'pods',
    namespace: null,
    namespaceSelector: peer.namespaceSelector,
    podSelector: peer.podSelector,
  };
  return {
    id: `pods-${shortHash(identityText(setPeer, null))}`,
    kind: 'addr',
    peer: setPeer,
    namedPort: null,
  };
}

/** The named-port set of a ClusterNetworkPolicy egress `destinationNamedPort` on a `pods` peer. */
export function clusterNamedPortSet(
  peer: { readonly namespaceSelector: LabelSelector; readonly podSelector: LabelSelector },
  name: string,
): PeerSet {
  return namedPortSetOf(clusterPeerSet(peer).peer, name, null);
}

function namedPortSetOf(setPeer: SetPeer, name: string, protocol: Protocol | null): PeerSet {
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
export function peerSetsOf(
  policies: readonly Policy[],
  clusterPolicies: readonly ClusterPolicy[] = [],
): Map<string, PeerSet> {
  const found = new Map<string, PeerSet>();
  const add = (s: PeerSet): void => {
    if (!found.has(s.id)) found.set(s.id, s);
  };
  for (const cnp of clusterPolicies) for (const set of clusterPolicySets(cnp)) add(set);
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

/** Every shared set the policies and ClusterNetworkPolicies of `cluster` define, by id, sorted. */
export function peerSetsIn(cluster: Cluster): Map<string, PeerSet> {
  return peerSetsOf(cluster.policies, cluster.clusterPolicies ?? []);
}

/**
 * The shared sets one ClusterNetworkPolicy's rules define: each `pods` peer,
 * and each egress named port on each `pods` peer. Rules that fail closed
 * define none (they match nothing, or everything).
 */
export function clusterPolicySets(cnp: ClusterPolicy): PeerSet[] {
  const out: PeerSet[] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    for (const rule of direction === 'ingress' ? cnp.ingress : cnp.egress) {
      if (rule.failClosed !== null) continue;
      for (const peer of rule.peers) {
        if (peer.kind !== 'pods') continue;
        out.push(clusterPeerSet(peer));
        if (direction !== 'egress') continue;
        for (const port of rule.ports ?? []) {
          if (port.kind === 'named') out.push(clusterNamedPortSet(peer, port.name));
        }
      }
    }
  }
  return out;
}

/**
 * The members of `set` in the cluster `index` holds, as element texts,
 * unique, in address order (then protocol, port). Pods are the index's
 * targets: enforceable, at the IPs enforced for them (shared-ips.ts).
 */
export function membersOf(set: PeerSet, index: ClusterIndex): string[] {
  const targets = targetsOf(set.peer, index);
  if (set.namedPort === null) return unique(targets.map((t) => formatIp(t.addr)));
  const namedPort = set.namedPort;
  return unique(targets.flatMap((t) => namedPortMembers(namedPort, t.pod, [formatIp(t.addr)])));
}

/**
 * The members `pod`, at `ips` (canonical text), puts in a named-port set:
 * `<ip> . <proto> . <port>` for the container port called `name` (of
 * `protocol`, or of any protocol when null); none when it declares no such port.
 */
export function namedPortMembers(
  namedPort: NonNullable<PeerSet['namedPort']>,
  pod: Pod,
  ips: readonly string[],
): string[] {
  const { name, protocol } = namedPort;
  const found = pod.ports.find(
    (p) => p.name === name && (protocol === null || p.protocol === protocol),
  );
  return found === undefined
    ? []
    : ips.map((ip) => namedPortMember(ip, found.protocol, found.containerPort));
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
  const np = set.namedPort;
  const text =
    np === null ? who : `${who}, port ${np.name}${np.protocol === null ? '' : `/${np.protocol}`}`;
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
