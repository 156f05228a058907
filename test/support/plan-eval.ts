/**
 * A packet-level evaluator of FirewallPlans: what the rendered nftables ruleset
 * would do with the first packet of a connection, decided from the plans
 * alone. It lets the property tests compare translate with the oracle without
 * a kernel, and so must never call the oracle itself.
 *
 * It follows the ruleset shape render writes (postrouting and input):
 *   1. egress: the plan with an egress chain for the source IP (the source
 *      pod's node) runs it: its Admin lines (first match: Accept returns,
 *      Deny drops, Pass goes on), then, for a pod NetworkPolicy isolates, its
 *      allows (an allow whose set holds the destination address and protocol
 *      . port returns, otherwise the chain drops), else its Baseline lines
 *      (first match: Deny drops, Accept and Pass return), else it returns;
 *   2. `fib saddr type local accept`: the destination pod's node accepts its
 *      own addresses' traffic to its pods;
 *   3. ingress: the plan with an ingress chain for the destination IP runs it
 *      against the source address; no matching allow drops;
 *   4. fail-closed (when the plan has it): a destination without an ingress
 *      chain, inside the pod CIDRs of a node's plan but not among its known
 *      pod IPs, is dropped there (after step 2, so the host still reaches it).
 * Established traffic and ICMPv6 neighbour discovery never reach a question
 * here: a Connection is one NEW TCP/UDP/SCTP flow.
 *
 * Shared sets hold what peer-sets.ts membersOf computes for the cluster — the
 * same members the controller publishes and compose.ts adds to the script.
 */
import { formatIp, parseCidr, parseIp, type Address } from '../../src/policy/cidr.js';
import { ClusterIndex } from '../../src/policy/cluster-index.js';
import type { Cluster, Direction } from '../../src/policy/model.js';
import { membersOf, namedPortMember, peerSetsIn } from '../../src/policy/peer-sets.js';
import type { Allow, FirewallPlan, PodChain, TierRule } from '../../src/policy/plan.js';
import type { Connection } from '../../src/policy/verdict.js';

/**
 * True when the rulesets rendered from `plans` (node name → plan) let the
 * first packet of `connection` through.
 *
 * @throws Error when a chain references a set its plan lacks, or two plans
 *   claim one pod IP.
 */
export function evaluatePlans(
  plans: ReadonlyMap<string, FirewallPlan>,
  cluster: Cluster,
  connection: Connection,
): boolean {
  const from = parseIp(connection.from);
  const to = parseIp(connection.to);

  const members = membersIn(cluster);
  const egress = findChain(plans, 'egress', from);
  if (egress && !runChain(egress.plan, egress.chain, to, connection, members)) return false;

  const isOwnHost = (plan: FirewallPlan): boolean =>
    cluster.nodes.some(
      (n) => n.name === plan.node && n.addresses.some((a) => sameAddress(parseIp(a), from)),
    );
  const ingress = findChain(plans, 'ingress', to);
  if (ingress) {
    return (
      isOwnHost(ingress.plan) || runChain(ingress.plan, ingress.chain, from, connection, members)
    );
  }
  for (const plan of plans.values()) {
    if (dropsAsUnknown(plan, to) && !isOwnHost(plan)) return false;
  }
  return true;
}

/** Fail-closed: `addr` lies in the plan's pod CIDRs but is no pod the plan knows. */
function dropsAsUnknown(plan: FirewallPlan, addr: Address): boolean {
  const fc = plan.failClosed;
  if (fc === null) return false;
  const inCidrs = fc.podCIDRs.some((c) => {
    const r = parseCidr(c);
    return r.family === addr.family && r.first <= addr.value && addr.value <= r.last;
  });
  return inCidrs && !fc.knownPodIPs.some((ip) => sameAddress(parseIp(ip), addr));
}

interface Located {
  readonly plan: FirewallPlan;
  readonly chain: PodChain;
}

/** The chain a `direction` vmap dispatches `addr` to, in whichever plan has one. */
function findChain(
  plans: ReadonlyMap<string, FirewallPlan>,
  direction: Direction,
  addr: Address,
): Located | null {
  const found: Located[] = [];
  for (const plan of plans.values()) {
    for (const chain of plan.chains) {
      if (chain.direction === direction && chain.ips.some((ip) => sameAddress(parseIp(ip), addr))) {
        found.push({ plan, chain });
      }
    }
  }
  if (found.length > 1) {
    const where = found.map((f) => `${f.plan.node}:${f.chain.name}`).join(', ');
    throw new Error(`${direction} chains of several pods claim one IP: ${where}`);
  }
  return found[0] ?? null;
}

/** Members of every shared set the cluster's policies define, by set id. */
type Members = ReadonlyMap<string, ReadonlySet<string>>;

const membersCache = new WeakMap<Cluster, Members>();

/** The members of every shared set of `cluster`, computed once per Cluster object. */
export function membersIn(cluster: Cluster): Members {
  let found = membersCache.get(cluster);
  if (found === undefined) {
    const index = new ClusterIndex(cluster);
    found = new Map(
      [...peerSetsIn(cluster).values()].map((s) => [s.id, new Set(membersOf(s, index))]),
    );
    membersCache.set(cluster, found);
  }
  return found;
}

/** True when some allow of `chain` matches; `peer` is saddr on ingress, daddr on egress. */
function runChain(
  plan: FirewallPlan,
  chain: PodChain,
  peer: Address,
  connection: Connection,
  members: Members,
): boolean {
  // The entry chain: Admin lines, first match decides; Pass goes on to the next stage.
  const first = (lines: readonly TierRule[]): TierRule | undefined =>
    lines.find((l) => allowMatches(plan, l, peer, connection, members));
  const admin = first(chain.admin ?? []);
  if (admin !== undefined && admin.action !== 'Pass') return admin.action === 'Accept';
  // The NetworkPolicy stage of an isolated pod: an allow or the drop.
  if (chain.policies.length > 0) {
    return chain.allows.some((a) => allowMatches(plan, a, peer, connection, members));
  }
  // The Baseline stage: first match decides, Pass falls to the default (allow).
  const baseline = first(chain.baseline ?? []);
  return baseline === undefined || baseline.action !== 'Deny';
}

/** What the allow's rendered line does with a packet whose peer address is `peer`. */
export function allowMatches(
  plan: FirewallPlan,
  allow: Allow,
  peer: Address,
  connection: Connection,
  members: Members,
): boolean {
  if (allow.family !== null && allow.family !== peer.family) return false;
  const setOf = (id: string): ReadonlySet<string> => {
    if (!plan.sets.some((s) => s.id === id && s.family === allow.family)) {
      throw new Error(`plan of ${plan.node} uses set ${id} (${allow.family ?? ''}) it lacks`);
    }
    return members.get(id) ?? new Set();
  };
  const ip = formatIp(peer);
  switch (allow.peer.kind) {
    case 'all':
      break;
    case 'set':
      if (!setOf(allow.peer.set).has(ip)) return false;
      break;
    case 'cidrs':
      if (
        !allow.peer.ranges.some((r) => {
          const first = parseIp(r.first);
          const last = parseIp(r.last);
          return (
            first.family === peer.family && first.value <= peer.value && peer.value <= last.value
          );
        })
      ) {
        return false;
      }
  }
  switch (allow.ports.kind) {
    case 'all':
      return true;
    case 'ports':
      return allow.ports.ports.some(
        (p) =>
          p.protocol === connection.protocol &&
          p.port.first <= connection.port &&
          connection.port <= p.port.last,
      );
    case 'namedPort':
      return setOf(allow.ports.set).has(namedPortMember(ip, connection.protocol, connection.port));
  }
}

function sameAddress(a: Address, b: Address): boolean {
  return a.family === b.family && a.value === b.value;
}
