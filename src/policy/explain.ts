/**
 * The oracle: do the cluster's network policies allow one new connection,
 * and which rules say so? It reads the API texts straight off the model —
 * NetworkPolicy (networking.k8s.io/v1) and ClusterNetworkPolicy
 * (policy.networking.k8s.io/v1alpha2): selectors, peers, ports, tiers — and
 * shares no code with translate beyond selector matching, address parsing
 * and port resolution, so that translate, render and the kernel can all be
 * tested against it. Where they disagree, this file is meant to be the one
 * that reads like the spec.
 *
 * A connection passes two independent gates:
 *
 *   source pod's egress  ──►  destination pod's ingress
 *
 * Each gate asks, in order, until one decides:
 *   1. the Admin tier (explain-tiers.ts): the first matching rule of the
 *      ClusterNetworkPolicies applying to the pod; Accept allows, Deny
 *      denies, Pass skips the rest of the tier;
 *   2. NetworkPolicy: a pod isolated in this direction is allowed iff any
 *      rule of any policy isolating it matches the other end — final;
 *   3. the Baseline tier, like the Admin tier; Pass hands over to
 *   4. the default: allowed.
 * An egress Accept allows the egress gate only; the destination's ingress
 * still applies. An address that is no enforceable pod (external, a node, a
 * hostNetwork pod) has no gate. The node's own traffic to its pods (kubelet
 * probes) passes the ingress gate before any tier, as the dataplane's
 * `fib saddr type local accept` does.
 *
 * Replies need no question: established flows are always allowed.
 */
import { CidrError, formatIp, parseCidr, parseIp, rangeContains } from './cidr.js';
import type { Address } from './cidr.js';
import { applyingPolicies, firstMatchingRule, orderTiers } from './explain-tiers.js';
import type { OrderedTiers } from './explain-tiers.js';
import { indexByIp } from './index-by-ip.js';
import type { AddressIndex } from './index-by-ip.js';
import { clusterPolicyName, qualifiedName } from './model.js';
import type { Cluster, Direction, Peer, Pod, Policy, PortSpec, Rule, Tier } from './model.js';
import { compareText } from './order.js';
import { resolvePortSpec } from './ports.js';
import { matchesSelector } from './selector.js';
import type {
  ClusterRuleRef,
  Connection,
  RuleRef,
  SideReason,
  SideVerdict,
  Verdict,
} from './verdict.js';

/** A question the oracle cannot answer: a bad address, mixed families, a bad port. */
export class ExplainError extends Error {
  override readonly name = 'ExplainError';
}

/**
 * Decides whether the cluster's NetworkPolicies and ClusterNetworkPolicies
 * allow `connection` in `cluster`.
 *
 * - `from` and `to` are resolved by address: to an enforceable pod (any of
 *   its IPs), else to "not a pod" (external, node, hostNetwork, terminal).
 *   An address several pods claim is the pod it is enforced for (see
 *   shared-ips.ts), whose policies decide; the side then carries `sharedIp`,
 *   and names `connection.fromPod` / `toPod` when that is another claimant.
 * - The verdict is allowed only when both the source's egress and the
 *   destination's ingress are.
 * - Each side names the tier that decided (`tier`), the Admin or Baseline
 *   rule that did (`decidedBy`) and the Pass rules passed through (`passed`).
 * - `allowedBy` lists every matching NetworkPolicy rule, sorted by policy
 *   then rule index, when NetworkPolicy decided; `policies` lists every
 *   NetworkPolicy isolating the pod in that direction, sorted.
 *
 * For many questions about one cluster, use `explainerFor` to index it once.
 *
 * @throws ExplainError when an address is invalid, `from` and `to` are of
 *   different families, or the port is not an integer in 1–65535.
 */
export function explainConnection(cluster: Cluster, connection: Connection): Verdict {
  return explainerFor(cluster)(connection);
}

/**
 * Indexes `cluster` once and returns `explainConnection` bound to it: the
 * same answers, for the price of one pass over the cluster instead of one
 * per question (the matrix asks N² of them).
 *
 * @throws CidrError when a pod or node address in `cluster` is invalid.
 */
export function explainerFor(cluster: Cluster): (connection: Connection) => Verdict {
  const index = indexByIp(cluster);
  const tiers = orderTiers(cluster.clusterPolicies ?? []);
  return (connection) => decideConnection(cluster, index, tiers, connection);
}

function decideConnection(
  cluster: Cluster,
  index: AddressIndex,
  tiers: OrderedTiers,
  connection: Connection,
): Verdict {
  const from = parseAddress(connection.from, 'source');
  const to = parseAddress(connection.to, 'destination');
  if (from.family !== to.family) {
    throw new ExplainError(
      `source ${connection.from} and destination ${connection.to} are of different address families`,
    );
  }
  if (!Number.isInteger(connection.port) || connection.port < 1 || connection.port > 65535) {
    throw new ExplainError(`port ${connection.port} is not an integer in 1–65535`);
  }
  const source = index.podAt(from);
  const destination = index.podAt(to);
  const egress: SideVerdict =
    source === null
      ? notAPod('egress')
      : decideSide(cluster, index, tiers, connection, {
          direction: 'egress',
          local: source,
          peer: to,
          peerPod: destination,
          hostToOwnPod: false,
        });
  const hostToOwnPod =
    source === null &&
    destination !== null &&
    destination.nodeName !== '' &&
    index.isNodeAddress(destination.nodeName, from);
  const ingress: SideVerdict =
    destination === null
      ? notAPod('ingress')
      : decideSide(cluster, index, tiers, connection, {
          direction: 'ingress',
          local: destination,
          peer: from,
          peerPod: source,
          hostToOwnPod,
        });
  return {
    connection,
    allowed: egress.allowed && ingress.allowed,
    egress: noteSharedIp(egress, index.claimantsAt(from), from, connection.fromPod),
    ingress: noteSharedIp(ingress, index.claimantsAt(to), to, connection.toPod),
  };
}

/**
 * A side whose address several pods claim: decided by the first claimant's
 * policies (the one the dataplane enforces the address for), and about the
 * pod the question named when that is another claimant.
 */
function noteSharedIp(
  side: SideVerdict,
  claimants: readonly Pod[],
  addr: Address,
  asked: string | undefined,
): SideVerdict {
  if (claimants.length < 2) return side;
  const pods = claimants.map(qualifiedName);
  const enforced = pods[0] ?? '';
  const pod = asked !== undefined && pods.includes(asked) ? asked : enforced;
  return { ...side, pod, sharedIp: { ip: formatIp(addr), pods, enforced } };
}

/** One gate: the local pod's policies in one direction, the other end as peer. */
interface Side {
  readonly direction: Direction;
  /** The pod whose policies decide: source for egress, destination for ingress. */
  readonly local: Pod;
  /** The other end's address, and its pod when it is an enforceable one. */
  readonly peer: Address;
  readonly peerPod: Pod | null;
  /** The source is an address of the destination pod's own node. */
  readonly hostToOwnPod: boolean;
}

function decideSide(
  cluster: Cluster,
  index: AddressIndex,
  tiers: OrderedTiers,
  connection: Connection,
  side: Side,
): SideVerdict {
  const selecting = cluster.policies
    .filter((p) => selectsPod(p, side.local, side.direction))
    .sort((a, b) => compareText(qualifiedName(a), qualifiedName(b)));
  const admin = applyingPolicies(tiers.Admin, side.local, side.direction, index);
  const baseline = applyingPolicies(tiers.Baseline, side.local, side.direction, index);
  const base = {
    direction: side.direction,
    pod: qualifiedName(side.local),
    isolated: selecting.length > 0,
    policies: selecting.map(qualifiedName),
    clusterPolicies: [...admin, ...baseline].map(clusterPolicyName),
  };
  const none = { allowedBy: [], decidedBy: null };
  // The node's own traffic is accepted before any policy is consulted, so no
  // rule is credited with it (matching the dataplane's per-rule counters).
  if (side.hostToOwnPod) {
    return { ...base, ...none, allowed: true, reason: 'host-to-own-pod', tier: null, passed: [] };
  }
  const question = { ...side, connection, index };
  const passed: ClusterRuleRef[] = [];
  // 1. Admin: the first matching rule decides; Pass skips the rest of the tier.
  const adminRule = firstMatchingRule(admin, question);
  if (adminRule !== null) {
    if (!isPass(adminRule)) return { ...base, ...decidedByRule(adminRule), passed };
    passed.push(adminRule);
  }
  // 2. NetworkPolicy: an isolated pod gets its allow rules, else nothing — final.
  if (selecting.length > 0) {
    const allowedBy = matchingRules(selecting, side, connection, index);
    const allowed = allowedBy.length > 0;
    const reason = allowed ? 'allowed-by-rule' : 'no-rule-matched';
    return { ...base, ...none, allowed, reason, allowedBy, tier: 'NetworkPolicy', passed };
  }
  // 3. Baseline: the first matching rule decides; Pass hands over to the default.
  const baselineRule = firstMatchingRule(baseline, question);
  if (baselineRule !== null) {
    if (!isPass(baselineRule)) return { ...base, ...decidedByRule(baselineRule), passed };
    passed.push(baselineRule);
  }
  // 4. The default: allowed.
  return { ...base, ...none, allowed: true, reason: 'not-isolated', tier: 'Default', passed };
}

/** Each tier's reasons for an Accept and for a Deny. */
const TIER_REASON: Readonly<Record<Tier, readonly [SideReason, SideReason]>> = {
  Admin: ['admin-accept', 'admin-deny'],
  Baseline: ['baseline-accept', 'baseline-deny'],
};

/** A Pass rule that is honoured (one that fails closed denies instead). */
function isPass(ref: ClusterRuleRef): boolean {
  return ref.action === 'Pass' && ref.failClosed === null;
}

/** The side decided by an Admin or Baseline rule: Accept, Deny, or a fail-closed deny. */
function decidedByRule(
  ref: ClusterRuleRef,
): Pick<SideVerdict, 'allowed' | 'reason' | 'tier' | 'decidedBy' | 'allowedBy'> {
  const allowed = ref.action === 'Accept' && ref.failClosed === null;
  const reason = ref.failClosed !== null ? 'failed-closed' : TIER_REASON[ref.tier][allowed ? 0 : 1];
  return { allowed, reason, tier: ref.tier, decidedBy: ref, allowedBy: [] };
}

/** Every rule of the isolating policies that matches, by policy then index. */
function matchingRules(
  selecting: readonly Policy[],
  side: Side,
  connection: Connection,
  index: AddressIndex,
): RuleRef[] {
  // Named ports are resolved on the destination pod in both directions: the
  // local pod for ingress, the peer (if it is a pod at all) for egress.
  const destination = side.direction === 'ingress' ? side.local : side.peerPod;
  const allowedBy: RuleRef[] = [];
  for (const p of selecting) {
    const rules = side.direction === 'ingress' ? p.ingress : p.egress;
    rules.forEach((r, i) => {
      if (matchesRule(r, p, side, destination, connection, index)) {
        allowedBy.push({ policy: qualifiedName(p), direction: side.direction, rule: i });
      }
    });
  }
  return allowedBy;
}

/**
 * A policy isolates a pod in a direction when it lives in the pod's
 * namespace, its podSelector matches the pod, and its policyTypes name the
 * direction. Rules of a type not in policyTypes are ignored.
 */
function selectsPod(p: Policy, pod: Pod, direction: Direction): boolean {
  return (
    p.namespace === pod.namespace &&
    p.policyTypes.includes(direction) &&
    matchesSelector(p.podSelector, pod.labels)
  );
}

/**
 * A rule matches when some peer matches the other end AND some port spec
 * matches the destination port. No peers (null or, as the API treats it,
 * empty) means every peer, pod or not; no ports means every port and protocol.
 */
function matchesRule(
  r: Rule,
  p: Policy,
  side: Side,
  destination: Pod | null,
  connection: Connection,
  index: AddressIndex,
): boolean {
  const peerOk =
    r.peers === null ||
    r.peers.length === 0 ||
    r.peers.some((peer) => matchesPeer(peer, p, side, index));
  if (!peerOk) return false;
  return (
    r.ports === null ||
    r.ports.length === 0 ||
    r.ports.some((spec) => matchesPort(spec, destination, connection))
  );
}

/**
 * - pods, no namespaceSelector: enforceable pods of the policy's namespace
 *   matching podSelector;
 * - pods with namespaceSelector: enforceable pods in namespaces it matches
 *   AND matching podSelector (one peer, both conditions);
 * - ipBlock: the address lies in `cidr` and in none of `except` (by address,
 *   pod or not; a CIDR of the other family never matches).
 */
function matchesPeer(peer: Peer, p: Policy, side: Side, index: AddressIndex): boolean {
  if (peer.kind === 'ipBlock') {
    return (
      rangeContains(parseCidr(peer.cidr), side.peer) &&
      !peer.except.some((e) => rangeContains(parseCidr(e), side.peer))
    );
  }
  const other = side.peerPod;
  if (other === null) return false;
  const inNamespace =
    peer.namespaceSelector === null
      ? other.namespace === p.namespace
      : matchesSelector(peer.namespaceSelector, index.namespaceLabels(other.namespace));
  return inNamespace && matchesSelector(peer.podSelector, other.labels);
}

/** Same protocol, and the port lies in what the spec resolves to on the destination pod. */
function matchesPort(spec: PortSpec, destination: Pod | null, connection: Connection): boolean {
  if (spec.protocol !== connection.protocol) return false;
  const range = resolvePortSpec(spec, destination);
  return range !== null && range.first <= connection.port && connection.port <= range.last;
}

function notAPod(direction: Direction): SideVerdict {
  return {
    direction,
    pod: null,
    isolated: false,
    allowed: true,
    reason: 'not-a-pod',
    policies: [],
    allowedBy: [],
    tier: null,
    decidedBy: null,
    passed: [],
    clusterPolicies: [],
  };
}

function parseAddress(text: string, what: string): Address {
  try {
    return parseIp(text);
  } catch (err) {
    if (err instanceof CidrError) {
      throw new ExplainError(`invalid ${what} address "${text}": ${err.message}`, { cause: err });
    }
    throw err;
  }
}
