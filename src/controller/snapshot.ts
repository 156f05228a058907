/**
 * The controller's incremental picture of the cluster. Informer events land
 * here as model objects (already converted by policy/from-k8s); each update
 * returns the nodes whose *rules* it can change, and keeps the shared peer
 * sets' members (memberships.ts) up to date. The v2 rules, each an
 * over-approximation that never misses a node:
 *
 *  - pod: its own node, old and new; plus the nodes of other pods claiming
 *    one of its IPs (which pod an IP is enforced for may flip). A pod being a
 *    peer no longer touches any node: only the sets it is a member of change;
 *  - namespace labels: no node (they decide memberships), unless a
 *    ClusterNetworkPolicy exists: its subject's namespaceSelector may now
 *    select or drop the namespace's pods, so their nodes;
 *  - ClusterNetworkPolicy: the nodes hosting pods its old or new subject selects;
 *  - policy: the nodes hosting pods the old or the new policy selects;
 *  - node: itself.
 *
 * An update that leaves the model object equal marks nothing.
 *
 * The snapshot is also what translate reads for one node ({@link NodeSource}):
 * the node's pods, the policies of their namespaces, which IPs are enforced
 * for whom — all from indexes, so rendering one node costs that node.
 */
import { parseIp, type Address } from '../policy/cidr.js';
import {
  isEnforceable,
  NAMESPACE_NAME_LABEL,
  qualifiedName,
  type Cluster,
  type ClusterPolicy,
  type Labels,
  type Namespace,
  type Node,
  type Peer,
  type Pod,
  type Policy,
  type Rule,
} from '../policy/model.js';
import { compareText, sortClusterPolicies } from '../policy/order.js';
import { matchesSelector } from '../policy/selector.js';
import { compareIpClaims } from '../policy/shared-ips.js';
import type { NodeSource } from '../policy/translate.js';
import { Memberships, type MembershipHost } from './memberships.js';

type PodsPeer = Extract<Peer, { kind: 'pods' }>;

/** Counts of what the snapshot holds. */
export interface SnapshotSize {
  readonly namespaces: number;
  readonly pods: number;
  readonly policies: number;
  readonly nodes: number;
}

/** The cluster as the informers last saw it, indexed for dirty-node computation. */
export class ClusterSnapshot implements NodeSource, MembershipHost {
  /** Members of every shared set the policies define, kept per event. */
  readonly memberships: Memberships = new Memberships(this);
  private readonly namespaces = new Map<string, Namespace>();
  private readonly pods = new Map<string, Pod>();
  private readonly podsByNamespace = new Map<string, Map<string, Pod>>();
  private readonly podsByNode = new Map<string, Map<string, Pod>>();
  /** IP (as written) → pods claiming it: two pods may (a reused IP, a stale status). */
  private readonly podsByIp = new Map<string, Map<string, Pod>>();
  private readonly policies = new Map<string, Policy>();
  private readonly policiesByNamespace = new Map<string, Map<string, Policy>>();
  private readonly nodes = new Map<string, Node>();
  private readonly clusterPolicyMap = new Map<string, ClusterPolicy>();
  /** clusterPolicies() result until a ClusterNetworkPolicy changes. */
  private sortedClusterPolicies: readonly ClusterPolicy[] | null = null;
  /** policiesIn results, sorted, until the namespace's policies change. */
  private readonly sortedPolicies = new Map<string, readonly Policy[]>();
  private cached: Cluster | null = null;

  /** Adds or replaces a pod. @returns the nodes whose script may change. */
  setPod(pod: Pod): Set<string> {
    const key = qualifiedName(pod);
    const old = this.pods.get(key);
    if (old !== undefined && sameJson(old, pod)) return new Set();
    const sharers = this.sharersByKey(old, pod);
    if (old !== undefined) this.unindexPod(old);
    this.pods.set(key, pod);
    addTo(this.podsByNamespace, pod.namespace, key, pod);
    if (pod.nodeName !== '') addTo(this.podsByNode, pod.nodeName, key, pod);
    for (const ip of pod.ips) addTo(this.podsByIp, ip, key, pod);
    this.cached = null;
    this.memberships.refreshPods([[key, pod], ...sharers]);
    return nodesOf([old, pod, ...sharers.map(([, p]) => p)]);
  }

  /** The other enforceable pods that claim one of `pod`'s IPs, with the IP. */
  sharersOf(pod: Pod): Array<{ readonly ip: string; readonly pod: Pod }> {
    const self = qualifiedName(pod);
    return pod.ips.flatMap((ip) =>
      [...(this.podsByIp.get(ip) ?? new Map<string, Pod>())]
        .filter(([key, other]) => key !== self && isEnforceable(other))
        .map(([, other]) => ({ ip, pod: other })),
    );
  }

  /** Removes a pod. @returns the nodes whose script may change. */
  deletePod(namespace: string, name: string): Set<string> {
    const key = `${namespace}/${name}`;
    const old = this.pods.get(key);
    if (old === undefined) return new Set();
    const sharers = this.sharersByKey(old, undefined);
    this.unindexPod(old);
    this.cached = null;
    this.memberships.refreshPods([[key, undefined], ...sharers]);
    return nodesOf([old, ...sharers.map(([, p]) => p)]);
  }

  /** Adds or replaces a namespace. @returns the nodes whose script may change. */
  setNamespace(namespace: Namespace): Set<string> {
    const old = this.namespaces.get(namespace.name);
    if (old !== undefined && sameJson(old.labels, namespace.labels)) return new Set();
    this.namespaces.set(namespace.name, namespace);
    this.cached = null;
    this.memberships.refreshNamespace(namespace.name);
    return this.nodesOfNamespaceForSubjects(namespace.name);
  }

  /** Removes a namespace. @returns the nodes whose script may change. */
  deleteNamespace(name: string): Set<string> {
    const old = this.namespaces.get(name);
    if (old === undefined) return new Set();
    this.namespaces.delete(name);
    this.cached = null;
    this.memberships.refreshNamespace(name);
    return this.nodesOfNamespaceForSubjects(name);
  }

  /** Adds or replaces a policy. @returns the nodes whose script may change. */
  setPolicy(policy: Policy): Set<string> {
    const key = qualifiedName(policy);
    const old = this.policies.get(key);
    if (old !== undefined && sameJson(old, policy)) return new Set();
    this.policies.set(key, policy);
    addTo(this.policiesByNamespace, policy.namespace, key, policy);
    this.sortedPolicies.delete(policy.namespace);
    this.cached = null;
    this.memberships.setPolicy(key, policy);
    const dirty = this.nodesHostingTargets(policy);
    if (old !== undefined) for (const n of this.nodesHostingTargets(old)) dirty.add(n);
    return dirty;
  }

  /** Removes a policy. @returns the nodes whose script may change. */
  deletePolicy(namespace: string, name: string): Set<string> {
    const key = `${namespace}/${name}`;
    const old = this.policies.get(key);
    if (old === undefined) return new Set();
    this.policies.delete(key);
    removeFrom(this.policiesByNamespace, namespace, key);
    this.sortedPolicies.delete(namespace);
    this.cached = null;
    this.memberships.setPolicy(key, undefined);
    return this.nodesHostingTargets(old);
  }

  /** Adds or replaces a ClusterNetworkPolicy. @returns the nodes whose rules may change. */
  setClusterPolicy(policy: ClusterPolicy): Set<string> {
    const old = this.clusterPolicyMap.get(policy.name);
    if (old !== undefined && sameJson(old, policy)) return new Set();
    this.clusterPolicyMap.set(policy.name, policy);
    this.sortedClusterPolicies = null;
    this.cached = null;
    this.memberships.setClusterPolicy(policy.name, policy);
    const dirty = this.nodesHostingSubjects(policy);
    if (old !== undefined) for (const n of this.nodesHostingSubjects(old)) dirty.add(n);
    return dirty;
  }

  /** Removes a ClusterNetworkPolicy. @returns the nodes whose rules may change. */
  deleteClusterPolicy(name: string): Set<string> {
    const old = this.clusterPolicyMap.get(name);
    if (old === undefined) return new Set();
    this.clusterPolicyMap.delete(name);
    this.sortedClusterPolicies = null;
    this.cached = null;
    this.memberships.setClusterPolicy(name, undefined);
    return this.nodesHostingSubjects(old);
  }

  /** A ClusterNetworkPolicy by name. */
  clusterPolicy(name: string): ClusterPolicy | undefined {
    return this.clusterPolicyMap.get(name);
  }

  /** Adds or replaces a node. @returns the node itself when it is new or changed. */
  setNode(node: Node): Set<string> {
    const old = this.nodes.get(node.name);
    if (old !== undefined && sameJson(old, node)) return new Set();
    this.nodes.set(node.name, node);
    this.cached = null;
    return new Set([node.name]);
  }

  /** Removes a node. @returns the node itself when it was known. */
  deleteNode(name: string): Set<string> {
    if (!this.nodes.delete(name)) return new Set();
    this.cached = null;
    return new Set([name]);
  }

  /** True when the node exists (its NodeFirewall should too). */
  hasNode(name: string): boolean {
    return this.nodes.has(name);
  }

  /** Names of every known node. */
  nodeNames(): string[] {
    return [...this.nodes.keys()];
  }

  /** A policy by `namespace/name`. */
  policy(key: string): Policy | undefined {
    return this.policies.get(key);
  }

  /** Enforceable pods `policy` selects (for named-port checks). */
  targetsOf(policy: Policy): Pod[] {
    return [...(this.podsByNamespace.get(policy.namespace)?.values() ?? [])].filter(
      (p) => isEnforceable(p) && matchesSelector(policy.podSelector, p.labels),
    );
  }

  /** Enforceable pods a pods peer of `policy` can match. */
  peerPods(policy: Policy, peer: PodsPeer): Pod[] {
    const out: Pod[] = [];
    const selector = peer.namespaceSelector;
    const namespaces =
      selector === null
        ? [policy.namespace]
        : [...this.namespaceNames()].filter((n) =>
            matchesSelector(selector, this.namespaceLabels(n)),
          );
    for (const ns of namespaces) {
      for (const p of this.podsByNamespace.get(ns)?.values() ?? []) {
        if (isEnforceable(p) && matchesSelector(peer.podSelector, p.labels)) out.push(p);
      }
    }
    return out;
  }

  /** Counts, for logs and benchmarks. */
  size(): SnapshotSize {
    return {
      namespaces: this.namespaces.size,
      pods: this.pods.size,
      policies: this.policies.size,
      nodes: this.nodes.size,
    };
  }

  /** The whole cluster as the pure core takes it (cached until the next change). */
  cluster(): Cluster {
    this.cached ??= {
      namespaces: [...this.namespaces.values()],
      pods: [...this.pods.values()],
      policies: [...this.policies.values()],
      nodes: [...this.nodes.values()],
      clusterPolicies: [...this.clusterPolicyMap.values()],
    };
    return this.cached;
  }

  private unindexPod(pod: Pod): void {
    const key = qualifiedName(pod);
    this.pods.delete(key);
    removeFrom(this.podsByNamespace, pod.namespace, key);
    if (pod.nodeName !== '') removeFrom(this.podsByNode, pod.nodeName, key);
    for (const ip of pod.ips) removeFrom(this.podsByIp, ip, key);
  }

  /**
   * Other pods claiming one of the IPs of `old` or `now`, by key: which of
   * them an IP is enforced for (shared-ips.ts) may flip with this change.
   */
  private sharersByKey(old: Pod | undefined, now: Pod | undefined): [string, Pod][] {
    const changed = [old, now].filter((p): p is Pod => p !== undefined);
    const self = changed[0] === undefined ? '' : qualifiedName(changed[0]);
    const sharers = new Map<string, Pod>();
    for (const p of changed)
      for (const ip of p.ips)
        for (const [key, q] of this.podsByIp.get(ip) ?? []) if (key !== self) sharers.set(key, q);
    return [...sharers];
  }

  // --- NodeSource: what translate reads for one node -------------------------

  podsOn(nodeName: string): readonly Pod[] {
    return this.localPods(nodeName).filter((p) => this.ownedIps(p).length > 0);
  }

  claimantsOn(nodeName: string): readonly Pod[] {
    return this.localPods(nodeName);
  }

  addresses(pod: Pod): readonly Address[] {
    return this.ownedIps(pod).map(parseIp);
  }

  ips(pod: Pod): readonly string[] {
    return this.ownedIps(pod);
  }

  policiesIn(namespace: string): readonly Policy[] {
    let found = this.sortedPolicies.get(namespace);
    if (found === undefined) {
      found = [...(this.policiesByNamespace.get(namespace) ?? new Map<string, Policy>())]
        .sort(([a], [b]) => compareText(a, b))
        .map(([, p]) => p);
      this.sortedPolicies.set(namespace, found);
    }
    return found;
  }

  node(name: string): Node | undefined {
    return this.nodes.get(name);
  }

  clusterPolicies(): readonly ClusterPolicy[] {
    this.sortedClusterPolicies ??= sortClusterPolicies([...this.clusterPolicyMap.values()]);
    return this.sortedClusterPolicies;
  }

  // --- MembershipHost: what memberships read ---------------------------------

  podsIn(namespace: string): Iterable<Pod> {
    return this.podsByNamespace.get(namespace)?.values() ?? [];
  }

  allPods(): Iterable<Pod> {
    return this.pods.values();
  }

  namespaceNames(): Iterable<string> {
    return new Set([...this.namespaces.keys(), ...this.podsByNamespace.keys()]);
  }

  namespaceLabels(namespace: string): Labels {
    // A namespace not seen yet still has the label the API server sets.
    return this.namespaces.get(namespace)?.labels ?? { [NAMESPACE_NAME_LABEL]: namespace };
  }

  /** The IPs of `pod` enforced for it: none unless enforceable; a shared IP goes to one claimant. */
  ownedIps(pod: Pod): readonly string[] {
    if (!isEnforceable(pod)) return [];
    const self = qualifiedName(pod);
    return pod.ips.filter((ip) => {
      let owner: Pod | undefined;
      for (const q of this.podsByIp.get(ip)?.values() ?? []) {
        if (isEnforceable(q) && (owner === undefined || compareIpClaims(q, owner) < 0)) owner = q;
      }
      return owner !== undefined && qualifiedName(owner) === self;
    });
  }

  /** Enforceable pods scheduled on `nodeName`, by namespace/name. */
  private localPods(nodeName: string): Pod[] {
    return [...(this.podsByNode.get(nodeName) ?? new Map<string, Pod>())]
      .filter(([, p]) => isEnforceable(p))
      .sort(([a], [b]) => compareText(a, b))
      .map(([, p]) => p);
  }

  /** Nodes hosting a pod a ClusterNetworkPolicy's subject selects. */
  private nodesHostingSubjects(policy: ClusterPolicy): Set<string> {
    const nodes = new Set<string>();
    for (const ns of this.namespaceNames()) {
      if (!matchesSelector(policy.subject.namespaceSelector, this.namespaceLabels(ns))) continue;
      for (const p of this.podsIn(ns)) {
        if (p.nodeName !== '' && matchesSelector(policy.subject.podSelector, p.labels)) {
          nodes.add(p.nodeName);
        }
      }
    }
    return nodes;
  }

  /**
   * A namespace's labels decide which ClusterNetworkPolicies' subjects its
   * pods are: with any ClusterNetworkPolicy, the nodes of its pods.
   */
  private nodesOfNamespaceForSubjects(namespace: string): Set<string> {
    if (this.clusterPolicyMap.size === 0) return new Set();
    return nodesOf([...this.podsIn(namespace)]);
  }

  /** Nodes hosting a pod `policy` selects (any pod with a node: over-approximation). */
  private nodesHostingTargets(policy: Policy): Set<string> {
    const nodes = new Set<string>();
    for (const p of this.podsByNamespace.get(policy.namespace)?.values() ?? []) {
      if (p.nodeName !== '' && matchesSelector(policy.podSelector, p.labels)) nodes.add(p.nodeName);
    }
    return nodes;
  }
}

/** The nodes the pods are scheduled on. */
function nodesOf(pods: readonly (Pod | undefined)[]): Set<string> {
  const nodes = new Set<string>();
  for (const p of pods) if (p !== undefined && p.nodeName !== '') nodes.add(p.nodeName);
  return nodes;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function addTo<T>(index: Map<string, Map<string, T>>, outer: string, key: string, value: T): void {
  let inner = index.get(outer);
  if (inner === undefined) {
    inner = new Map();
    index.set(outer, inner);
  }
  inner.set(key, value);
}

function removeFrom<T>(index: Map<string, Map<string, T>>, outer: string, key: string): void {
  const inner = index.get(outer);
  if (inner === undefined) return;
  inner.delete(key);
  if (inner.size === 0) index.delete(outer);
}

/**
 * The named ports of `policy` that resolve on no pod they could apply to: for
 * ingress, the pods the policy selects; for egress, the pods its pod peers
 * match. Rules whose candidate pods are none yet, or whose peers are all
 * peers or ipBlocks, are not judged. One sentence per miss.
 */
export function findUnresolvedNamedPorts(snapshot: ClusterSnapshot, policy: Policy): string[] {
  const misses: string[] = [];
  const judge = (
    direction: 'ingress' | 'egress',
    index: number,
    rule: Rule,
    pods: readonly Pod[],
  ): void => {
    if (pods.length === 0) return;
    for (const spec of rule.ports ?? []) {
      if (typeof spec.port !== 'string') continue;
      const name = spec.port;
      const found = pods.some((p) =>
        p.ports.some((cp) => cp.name === name && cp.protocol === spec.protocol),
      );
      if (!found) {
        misses.push(
          `${direction} rule ${index}: named port "${name}"/${spec.protocol} matches no container port of the ${pods.length} pod(s) it applies to, so it allows nothing`,
        );
      }
    }
  };
  const targets = snapshot.targetsOf(policy);
  policy.ingress.forEach((rule, i) => judge('ingress', i, rule, targets));
  policy.egress.forEach((rule, i) => {
    if (rule.peers === null || rule.peers.some((p) => p.kind !== 'pods')) return;
    const peers = rule.peers.flatMap((p) =>
      p.kind === 'pods' ? snapshot.peerPods(policy, p) : [],
    );
    judge('egress', i, rule, peers);
  });
  return misses;
}
