/**
 * The cluster, indexed once per translation: which pods are enforced at which
 * addresses (a shared IP goes to one pod, shared-ips.ts), pods by node,
 * policies by namespace, and the pod addresses a `pods` peer selects.
 * peer-sets.ts reads it for the members of shared sets; translate.ts reads
 * it for the node's pods and their chains.
 */
import { compareText, sortClusterPolicies } from './order.js';
import { parseIp, type Address } from './cidr.js';
import {
  isEnforceable,
  NAMESPACE_NAME_LABEL,
  qualifiedName,
  type Cluster,
  type ClusterPolicy,
  type Labels,
  type LabelSelector,
  type Node,
  type Pod,
  type Policy,
} from './model.js';
import { matchesSelector } from './selector.js';
import { compareIpClaims } from './shared-ips.js';

/** An enforceable pod's address: what a named port on a peer resolves against. */
export interface Target {
  readonly addr: Address;
  readonly pod: Pod;
}

/** A pod's addresses that are enforced for it, as text and parsed, in its order. */
interface OwnedAddresses {
  readonly ips: readonly string[];
  readonly addrs: readonly Address[];
}

/** The cluster, indexed once per translation. */
export class ClusterIndex {
  /**
   * Enforceable pods that at least one of their IPs is enforced for, sorted
   * by namespace/name. Where pods share an IP, it is enforced for one of
   * them (shared-ips.ts); the others are no pod at that IP, and a pod that
   * lost every IP is left out, as if it had none.
   */
  readonly pods: readonly Pod[];
  /** Policies sorted by namespace/name. */
  readonly policies: readonly Policy[];
  /** Every address of every pod of {@link pods} enforced for it, sorted. */
  readonly targets: readonly Target[];
  private readonly byNode = new Map<string, Pod[]>();
  /** Every enforceable pod by node, shared IP or not: the IPs a node knows. */
  private readonly claimantsByNode = new Map<string, Pod[]>();
  private readonly policiesByNamespace = new Map<string, Policy[]>();
  private readonly targetsByNamespace = new Map<string, Target[]>();
  private readonly nodes: ReadonlyMap<string, Node>;
  private readonly sortedClusterPolicies: readonly ClusterPolicy[];
  private readonly namespaceLabelsOf: ReadonlyMap<string, Labels>;
  private readonly owned = new Map<Pod, OwnedAddresses>();

  constructor(cluster: Cluster) {
    const claimants = sortByName(cluster.pods.filter(isEnforceable));
    const parsed = claimants.map((pod) => pod.ips.map(parseIp));
    // Which pod each address is enforced for (IPv4 keyed by number: faster than bigint).
    const owners = new Map<number | bigint, Pod>();
    const keyOf = (a: Address): number | bigint => (a.family === 'ip' ? Number(a.value) : a.value);
    claimants.forEach((pod, i) => {
      for (const addr of parsed[i] ?? []) {
        const key = keyOf(addr);
        const current = owners.get(key);
        if (current === undefined || (current !== pod && compareIpClaims(pod, current) < 0)) {
          owners.set(key, pod);
        }
      }
    });
    const pods: Pod[] = [];
    claimants.forEach((pod, i) => {
      pushTo(this.claimantsByNode, pod.nodeName, pod);
      const all = parsed[i] ?? [];
      const keep = all.map((a) => owners.get(keyOf(a)) === pod);
      if (!keep.includes(true)) return;
      const whole = !keep.includes(false);
      this.owned.set(pod, {
        ips: whole ? pod.ips : pod.ips.filter((_, j) => keep[j]),
        addrs: whole ? all : all.filter((_, j) => keep[j]),
      });
      pods.push(pod);
      pushTo(this.byNode, pod.nodeName, pod);
    });
    this.pods = pods;
    this.policies = sortByName(cluster.policies);
    this.namespaceLabelsOf = new Map(cluster.namespaces.map((n) => [n.name, n.labels]));
    this.nodes = new Map(cluster.nodes.map((n) => [n.name, n]));
    this.sortedClusterPolicies = sortClusterPolicies(cluster.clusterPolicies ?? []);
    for (const policy of this.policies) pushTo(this.policiesByNamespace, policy.namespace, policy);
    this.targets = this.pods
      .flatMap((pod) => this.addresses(pod).map((addr) => ({ addr, pod })))
      .sort((a, b) => compareAddresses(a.addr, b.addr));
    for (const t of this.targets) pushTo(this.targetsByNamespace, t.pod.namespace, t);
  }

  /** The policies of `namespace`, sorted as {@link policies}. */
  policiesIn(namespace: string): readonly Policy[] {
    return this.policiesByNamespace.get(namespace) ?? [];
  }

  /** Pods of {@link pods} scheduled on `nodeName`, sorted. */
  podsOn(nodeName: string): readonly Pod[] {
    return this.byNode.get(nodeName) ?? [];
  }

  /** Every enforceable pod scheduled on `nodeName`, including those that lost a shared IP. */
  claimantsOn(nodeName: string): readonly Pod[] {
    return this.claimantsByNode.get(nodeName) ?? [];
  }

  /** The addresses of a pod of {@link pods} that are enforced for it, parsed. */
  addresses(pod: Pod): readonly Address[] {
    return this.owned.get(pod)?.addrs ?? [];
  }

  /** {@link addresses} as the pod's own text, index for index. */
  ips(pod: Pod): readonly string[] {
    return this.owned.get(pod)?.ips ?? [];
  }

  /**
   * Enforceable pod addresses of the pods `podSelector` selects in
   * `namespace` (namespaceSelector null) or in the namespaces
   * `namespaceSelector` selects, sorted as {@link targets}.
   */
  selectTargets(
    namespace: string | null,
    namespaceSelector: LabelSelector | null,
    podSelector: LabelSelector,
  ): readonly Target[] {
    if (namespaceSelector === null) {
      // Per-namespace lists keep the global address order.
      return (this.targetsByNamespace.get(namespace ?? '') ?? []).filter((t) =>
        matchesSelector(podSelector, t.pod.labels),
      );
    }
    const namespaces = new Set<string>();
    for (const ns of this.targetsByNamespace.keys()) {
      // A namespace missing from the snapshot still has the label the API server sets.
      const labels = this.namespaceLabels(ns);
      if (matchesSelector(namespaceSelector, labels)) namespaces.add(ns);
    }
    return this.targets.filter(
      (t) => namespaces.has(t.pod.namespace) && matchesSelector(podSelector, t.pod.labels),
    );
  }

  /** The node named `name`, if the cluster has it. */
  node(name: string): Node | undefined {
    return this.nodes.get(name);
  }

  /** Every ClusterNetworkPolicy in evaluation order (Admin, Baseline; priority; name). */
  clusterPolicies(): readonly ClusterPolicy[] {
    return this.sortedClusterPolicies;
  }

  /** The namespace's labels; one not in the cluster has the label the API server sets. */
  namespaceLabels(namespace: string): Labels {
    return this.namespaceLabelsOf.get(namespace) ?? { [NAMESPACE_NAME_LABEL]: namespace };
  }
}

/** Sorted by `namespace/name`, each name built once rather than per comparison. */
function sortByName<T extends { namespace: string; name: string }>(items: readonly T[]): T[] {
  return items
    .map((item) => ({ item, key: qualifiedName(item) }))
    .sort((a, b) => compareText(a.key, b.key))
    .map((x) => x.item);
}

function pushTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** IPv4 before IPv6, then numeric. */
export function compareAddresses(a: Address, b: Address): number {
  if (a.family !== b.family) return a.family === 'ip' ? -1 : 1;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}
