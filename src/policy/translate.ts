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
 * Rules become set contents in rule-compiler.ts, over the cluster-index.ts index;
 * this file assembles the plan.
 *
 * Pure and deterministic: inputs are indexed and sorted first, so the same
 * cluster in any array order gives a deep-equal plan.
 */
import { parseIp, type Address } from './cidr.js';
import {
  qualifiedName,
  type Cluster,
  type Direction,
  type Pod,
  type Policy,
  type Rule,
} from './model.js';
import type { Allow, FailClosed, FirewallPlan, NamedSet, PodChain } from './plan.js';
import { compareText } from './order.js';
import { ClusterIndex, compareAddresses } from './cluster-index.js';
import { RuleCompiler } from './rule-compiler.js';
import { matchesSelector } from './selector.js';
import { shortenName } from './set-name.js';

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
 *  - an IP several enforceable pods claim belongs to one of them, the same
 *    on every node (shared-ips.ts): one chain per direction dispatches it,
 *    and peer sets hold it only where that pod is selected;
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
    const addresses = index.addresses(pod);
    const families = new Set(addresses.map((a) => a.family));
    for (const direction of DIRECTIONS) {
      const selecting = index
        .policiesIn(pod.namespace)
        .filter((p) => selectsPod(p, pod, direction));
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
        ips: sortParsedIps(index.ips(pod), addresses),
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
    failClosed:
      options.failClosed === true
        ? failClosedFor(cluster, nodeName, index.claimantsOn(nodeName))
        : null,
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

/** `localPods`: every enforceable pod of the node, shared IP or not (all are known addresses). */
function failClosedFor(cluster: Cluster, nodeName: string, localPods: readonly Pod[]): FailClosed {
  const node = cluster.nodes.find((n) => n.name === nodeName);
  return {
    podCIDRs: [...(node?.podCIDRs ?? [])].sort(compareText),
    knownPodIPs: sortIps([...new Set(localPods.flatMap((p) => p.ips))]),
  };
}

/** IPs sorted IPv4 first, then numerically. */
function sortIps(ips: readonly string[]): string[] {
  return sortParsedIps(ips, ips.map(parseIp));
}

/** {@link sortIps} when `addrs[i]` is already `parseIp(ips[i])`. */
function sortParsedIps(ips: readonly string[], addrs: readonly Address[]): string[] {
  if (ips.length < 2) return [...ips];
  return ips
    .map((text, i) => ({ text, addr: addrs[i] as Address }))
    .sort((a, b) => compareAddresses(a.addr, b.addr))
    .map((x) => x.text);
}
