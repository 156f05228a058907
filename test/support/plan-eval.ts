/**
 * A packet-level evaluator of FirewallPlans: what the rendered nftables ruleset
 * would do with the first packet of a connection, decided from the plans
 * alone. It lets the property tests compare translate with the oracle without
 * a kernel, and so must never call the oracle itself.
 *
 * It follows the ruleset shape render writes (postrouting and input):
 *   1. egress: the plan with an egress chain for the source IP (the source
 *      pod's node) runs it; an allow whose set holds the destination address
 *      (and protocol . port) returns, otherwise the chain drops;
 *   2. `fib saddr type local accept`: the destination pod's node accepts its
 *      own addresses' traffic to its pods;
 *   3. ingress: the plan with an ingress chain for the destination IP runs it
 *      against the source address; no matching allow drops;
 *   4. fail-closed (when the plan has it): a destination without an ingress
 *      chain, inside the pod CIDRs of a node's plan but not among its known
 *      pod IPs, is dropped there (after step 2, so the host still reaches it).
 * Established traffic and ICMPv6 neighbour discovery never reach a question
 * here: a Connection is one NEW TCP/UDP/SCTP flow.
 */
import { parseCidr, parseIp, type Address } from '../../src/policy/cidr.js';
import type { Cluster, Direction } from '../../src/policy/model.js';
import type { FirewallPlan, Match, NamedSet, PodChain, SetElement } from '../../src/policy/plan.js';
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

  const egress = findChain(plans, 'egress', from);
  if (egress && !runChain(egress.plan, egress.chain, to, connection)) return false;

  const isOwnHost = (plan: FirewallPlan): boolean =>
    cluster.nodes.some(
      (n) => n.name === plan.node && n.addresses.some((a) => sameAddress(parseIp(a), from)),
    );
  const ingress = findChain(plans, 'ingress', to);
  if (ingress) {
    return isOwnHost(ingress.plan) || runChain(ingress.plan, ingress.chain, from, connection);
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

/** True when some allow of `chain` matches; `peer` is saddr on ingress, daddr on egress. */
function runChain(
  plan: FirewallPlan,
  chain: PodChain,
  peer: Address,
  connection: Connection,
): boolean {
  return chain.allows.some((a) => matches(plan, a.match, peer, connection));
}

function matches(plan: FirewallPlan, match: Match, peer: Address, connection: Connection): boolean {
  if (match.kind === 'all') return true;
  const set = plan.sets.find((s) => s.name === match.set);
  if (!set) throw new Error(`plan of ${plan.node} references missing set ${match.set}`);
  return setContains(set, peer, connection);
}

/** Interval lookup, as `ip saddr . meta l4proto . th dport @set` (or a part of it) does. */
export function setContains(set: NamedSet, peer: Address, connection: Connection): boolean {
  if (set.family !== null && set.family !== peer.family) return false;
  return set.elements.some((e) => elementContains(set, e, peer, connection));
}

function elementContains(
  set: NamedSet,
  e: SetElement,
  peer: Address,
  connection: Connection,
): boolean {
  if (set.kind !== 'port') {
    if (!e.addr) throw new Error(`element of ${set.name} lacks an address`);
    const first = parseIp(e.addr.first);
    const last = parseIp(e.addr.last);
    if (first.family !== peer.family || peer.value < first.value || peer.value > last.value) {
      return false;
    }
  }
  if (set.kind !== 'addr') {
    if (!e.port || !e.protocol) throw new Error(`element of ${set.name} lacks protocol or port`);
    if (e.protocol !== connection.protocol) return false;
    if (connection.port < e.port.first || connection.port > e.port.last) return false;
  }
  return true;
}

function sameAddress(a: Address, b: Address): boolean {
  return a.family === b.family && a.value === b.value;
}
