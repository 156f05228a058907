/**
 * The oracle's ClusterNetworkPolicy tiers (policy.networking.k8s.io/v1alpha2),
 * read off the API text rather than shared with translate: which policies of a
 * tier apply to a pod in one direction, in what order, and the first of their
 * rules that matches the other end. What the match then means — Accept, Deny,
 * Pass, between the tiers and NetworkPolicy — is explain.ts's to decide.
 *
 * From the API text:
 *  - a tier's policies are checked by priority, lower first; the order of
 *    equal priorities is left open, so it is by name here (compareText);
 *  - within a policy, the direction's rules in written order;
 *  - a rule matches when any peer matches the other end and, when it has
 *    `protocols`, any entry matches the destination protocol and port;
 *  - `pods` / `namespaces` peers never match a non-pod address; `networks`
 *    matches any address inside a CIDR, pods included, on any protocol;
 *  - a named port is the destination pod's container port of that name, of
 *    the connection's protocol;
 *  - a rule that fails closed: Accept matches nothing, Deny and Pass match
 *    everything (the caller then treats it as Deny).
 */
import { parseCidr, rangeContains } from './cidr.js';
import type { Address } from './cidr.js';
import type { AddressIndex } from './index-by-ip.js';
import { clusterPolicyName } from './model.js';
import type {
  ClusterPeer,
  ClusterPolicy,
  ClusterPort,
  ClusterRule,
  Direction,
  Pod,
  Tier,
} from './model.js';
import { compareText } from './order.js';
import { resolvePortSpec } from './ports.js';
import { matchesSelector } from './selector.js';
import type { ClusterRuleRef, Connection } from './verdict.js';

/** Each tier's policies in evaluation order: priority ascending, then name. */
export type OrderedTiers = Readonly<Record<Tier, readonly ClusterPolicy[]>>;

/** One side's question to a tier: the local pod, and the other end of the connection. */
export interface TierQuestion {
  readonly direction: Direction;
  /** The pod whose policies decide: source for egress, destination for ingress. */
  readonly local: Pod;
  /** The other end's address, and its pod when it is an enforceable one. */
  readonly peer: Address;
  readonly peerPod: Pod | null;
  readonly connection: Connection;
  readonly index: AddressIndex;
}

/**
 * Splits `policies` by tier, each in evaluation order: priority ascending,
 * then name (compareText) — deterministic where the API leaves equal
 * priorities open. The input is not modified.
 */
export function orderTiers(policies: readonly ClusterPolicy[]): OrderedTiers {
  const ordered = [...policies].sort(
    (a, b) => a.priority - b.priority || compareText(a.name, b.name),
  );
  return {
    Admin: ordered.filter((p) => p.tier === 'Admin'),
    Baseline: ordered.filter((p) => p.tier === 'Baseline'),
  };
}

/**
 * The policies of one tier (already in order) that apply to `pod` in
 * `direction`: their subject selects it (namespaceSelector on its
 * namespace's labels AND podSelector on its labels) and they have rules for
 * that direction ("CNPs with no ingress rules do not affect ingress
 * traffic"). `pod` is an enforceable pod, so never a host-network one.
 */
export function applyingPolicies(
  tier: readonly ClusterPolicy[],
  pod: Pod,
  direction: Direction,
  index: AddressIndex,
): ClusterPolicy[] {
  return tier.filter(
    (p) =>
      rulesOf(p, direction).length > 0 &&
      matchesSelector(p.subject.namespaceSelector, index.namespaceLabels(pod.namespace)) &&
      matchesSelector(p.subject.podSelector, pod.labels),
  );
}

/**
 * The first rule, over `policies` in order and each policy's rules in
 * written order, that matches the question; null when none does.
 */
export function firstMatchingRule(
  policies: readonly ClusterPolicy[],
  q: TierQuestion,
): ClusterRuleRef | null {
  for (const p of policies) {
    const rules = rulesOf(p, q.direction);
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i];
      if (r !== undefined && matchesClusterRule(r, q)) return refOf(p, q.direction, i, r);
    }
  }
  return null;
}

function rulesOf(p: ClusterPolicy, direction: Direction): readonly ClusterRule[] {
  return direction === 'ingress' ? p.ingress : p.egress;
}

function refOf(p: ClusterPolicy, direction: Direction, i: number, r: ClusterRule): ClusterRuleRef {
  return {
    policy: clusterPolicyName(p),
    tier: p.tier,
    priority: p.priority,
    direction,
    rule: i,
    name: r.name,
    action: r.action,
    failClosed: r.failClosed,
  };
}

/**
 * Fail closed as the API defines it: "for Accept rules, treat the rule as
 * matching no traffic; for Deny and Pass rules, treat the rule as a 'Deny
 * all' rule". Otherwise some peer AND (no protocols, or some protocol entry).
 */
function matchesClusterRule(r: ClusterRule, q: TierQuestion): boolean {
  if (r.failClosed !== null) return r.action !== 'Accept';
  if (!r.peers.some((peer) => matchesClusterPeer(peer, q))) return false;
  // Named ports are the destination's: the local pod on ingress, the peer on egress.
  const destination = q.direction === 'ingress' ? q.local : q.peerPod;
  return r.ports === null || r.ports.some((spec) => matchesClusterPort(spec, destination, q));
}

/**
 * - pods (and namespaces, with the empty podSelector): the other end is an
 *   enforceable pod whose namespace's labels match namespaceSelector and
 *   whose labels match podSelector;
 * - networks: the other end's address lies in one of the CIDRs, pod or not
 *   (a CIDR of the other family never matches).
 */
function matchesClusterPeer(peer: ClusterPeer, q: TierQuestion): boolean {
  if (peer.kind === 'networks') {
    return peer.cidrs.some((cidr) => rangeContains(parseCidr(cidr), q.peer));
  }
  const other = q.peerPod;
  return (
    other !== null &&
    matchesSelector(peer.namespaceSelector, q.index.namespaceLabels(other.namespace)) &&
    matchesSelector(peer.podSelector, other.labels)
  );
}

/**
 * - port: same protocol, and the destination port in [first, last];
 * - named: the destination pod declares a container port of that name for
 *   the connection's protocol, numbered as the destination port (nothing,
 *   when the destination is no pod or has no such port).
 */
function matchesClusterPort(spec: ClusterPort, destination: Pod | null, q: TierQuestion): boolean {
  const { protocol, port } = q.connection;
  if (spec.kind === 'port') {
    return spec.protocol === protocol && spec.first <= port && port <= spec.last;
  }
  const range = resolvePortSpec({ protocol, port: spec.name }, destination);
  return range !== null && range.first <= port && port <= range.last;
}
