/**
 * translate: one node's view of the cluster → its FirewallPlan. This is where
 * NetworkPolicy semantics become allow lines; render only spells the plan in
 * nft syntax.
 *
 * For each enforceable pod on the node and each direction, the policies of its
 * namespace that select it with that policy type isolate it; its chain then
 * holds the allows of their rules (rule-compiler.ts): peers by shared set
 * identity or inline ipBlock ranges, ports inline, egress named ports as
 * shared address . port sets. What translate reads is only the node's own
 * pods and the policies of their namespaces ({@link NodeSource}): no remote
 * pod and no namespace label changes a node's plan. Members of the shared
 * sets are computed apart (peer-sets.ts membersOf; the controller keeps them
 * incrementally).
 *
 * Pure and deterministic: inputs are indexed and sorted first, so the same
 * cluster in any array order gives a deep-equal plan.
 */
import { parseIp, type Address } from './cidr.js';
import {
  clusterPolicyName,
  qualifiedName,
  type Cluster,
  type ClusterPolicy,
  type Direction,
  type Family,
  type Labels,
  type Node,
  type Pod,
  type Policy,
  type Rule,
} from './model.js';
import type { Allow, FailClosed, FirewallPlan, PodChain, SharedSetUse, TierRule } from './plan.js';
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

/**
 * What translating one node reads: its pods, the policies of their
 * namespaces, the node itself. ClusterIndex provides it for a whole Cluster;
 * the controller's snapshot provides it incrementally.
 */
export interface NodeSource {
  /** Enforceable pods on the node with at least one IP enforced for them, by namespace/name. */
  podsOn(nodeName: string): readonly Pod[];
  /** Every enforceable pod on the node, including those that lost a shared IP. */
  claimantsOn(nodeName: string): readonly Pod[];
  /** The pod's addresses enforced for it, parsed, in its order. */
  addresses(pod: Pod): readonly Address[];
  /** {@link addresses} as the pod's own text, index for index. */
  ips(pod: Pod): readonly string[];
  /** The namespace's policies, sorted by namespace/name. */
  policiesIn(namespace: string): readonly Policy[];
  node(name: string): Node | undefined;
  /**
   * Every ClusterNetworkPolicy, in evaluation order: Admin before Baseline,
   * then by priority, then by name.
   */
  clusterPolicies(): readonly ClusterPolicy[];
  /** The namespace's labels (with kubernetes.io/metadata.name even when not seen). */
  namespaceLabels(namespace: string): Labels;
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
 *  - chains, sets, policies and IP lists are sorted; every shared set of the
 *    plan is used by an allow, and every set an allow uses is in the plan;
 *  - the plan depends only on the node's pods, the policies of their
 *    namespaces and the node: never on remote pods or namespace labels;
 *  - an IP several enforceable pods claim belongs to one of them, the same
 *    on every node (shared-ips.ts): one chain per direction dispatches it;
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
 * Indexes `cluster` once and returns {@link translateNode} bound to it.
 * The cluster must not change while in use.
 *
 * @throws CidrError when a pod IP does not parse.
 */
export function translatorFor(
  cluster: Cluster,
): (nodeName: string, options?: TranslateOptions) => FirewallPlan {
  return nodeTranslator(new ClusterIndex(cluster));
}

/**
 * {@link translateNode} over any {@link NodeSource}, sharing one rule
 * compiler (and its set ids) between the nodes it translates.
 */
export function nodeTranslator(
  source: NodeSource,
  compiler: RuleCompiler = new RuleCompiler(),
): (nodeName: string, options?: TranslateOptions) => FirewallPlan {
  return (nodeName, options = {}) => buildPlan(source, compiler, nodeName, options);
}

function buildPlan(
  source: NodeSource,
  compiler: RuleCompiler,
  nodeName: string,
  options: TranslateOptions,
): FirewallPlan {
  const localPods = source.podsOn(nodeName);
  const sets = new Map<string, SharedSetUse>();
  const chains: PodChain[] = [];
  const policies = new Set<string>();

  for (const pod of localPods) {
    const addresses = source.addresses(pod);
    const families = new Set<Family>(addresses.map((a) => a.family));
    for (const direction of DIRECTIONS) {
      const selecting = source
        .policiesIn(pod.namespace)
        .filter((p) => selectsPod(p, pod, direction));
      const allows: Allow[] = [];
      for (const policy of selecting) {
        policies.add(qualifiedName(policy));
        rulesOf(policy, direction).forEach((rule, i) => {
          allows.push(...compiler.compile(policy, i, rule, direction, pod, families, sets));
        });
      }
      const tiers = tierLines(
        source,
        compiler,
        pod,
        direction,
        families,
        selecting.length > 0,
        sets,
      );
      if (selecting.length === 0 && tiers === null) continue;
      for (const name of tiers?.clusterPolicies ?? []) policies.add(name);
      chains.push({
        name: chainName(direction, pod),
        pod: qualifiedName(pod),
        direction,
        ips: sortParsedIps(source.ips(pod), addresses),
        policies: selecting.map(qualifiedName),
        allows,
        ...(tiers ?? {}),
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
    sets: [...sets.values()].sort(
      (a, b) => compareText(a.id, b.id) || (a.family === b.family ? 0 : a.family === 'ip' ? -1 : 1),
    ),
    policies: [...policies].sort(compareText),
    localPods: localPods.length,
    failClosed:
      options.failClosed === true
        ? failClosedFor(source.node(nodeName), source.claimantsOn(nodeName))
        : null,
  };
}

/**
 * The ClusterNetworkPolicy lines of `pod`'s chain for `direction`: the
 * Admin tier, and the Baseline tier unless NetworkPolicy isolates the pod
 * (then the tier is never reached); the shared sets they use are added to
 * `sets`. Null when no ClusterNetworkPolicy adds a line (the chain is then
 * exactly what NetworkPolicy alone gives).
 */
function tierLines(
  source: NodeSource,
  compiler: RuleCompiler,
  pod: Pod,
  direction: Direction,
  families: ReadonlySet<Family>,
  isolated: boolean,
  sets: Map<string, SharedSetUse>,
): {
  readonly admin?: TierRule[];
  readonly baseline?: TierRule[];
  readonly clusterPolicies: string[];
} | null {
  const cnps = source.clusterPolicies();
  if (cnps.length === 0) return null;
  const nsLabels = source.namespaceLabels(pod.namespace);
  const admin: TierRule[] = [];
  const baseline: TierRule[] = [];
  const names = new Set<string>();
  for (const cnp of cnps) {
    if (cnp.tier === 'Baseline' && isolated) continue;
    if (!matchesSelector(cnp.subject.namespaceSelector, nsLabels)) continue;
    if (!matchesSelector(cnp.subject.podSelector, pod.labels)) continue;
    const into = cnp.tier === 'Admin' ? admin : baseline;
    const before = into.length;
    (direction === 'ingress' ? cnp.ingress : cnp.egress).forEach((rule, i) => {
      into.push(...compiler.compileCluster(cnp, i, rule, direction, pod, families, sets));
    });
    if (into.length > before) names.add(clusterPolicyName(cnp));
  }
  if (admin.length === 0 && baseline.length === 0) return null;
  return {
    ...(admin.length > 0 ? { admin } : {}),
    ...(baseline.length > 0 ? { baseline } : {}),
    clusterPolicies: [...names].sort(compareText),
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
function failClosedFor(node: Node | undefined, localPods: readonly Pod[]): FailClosed {
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
