/**
 * The controller's incremental picture of the cluster. Informer events land
 * here as model objects (already converted by policy/from-k8s); each update
 * returns the nodes whose script it can change, so the engine re-renders
 * those and no others. The rules, each an over-approximation that never
 * misses a node:
 *
 *  - pod: its own node, old and new; plus the nodes hosting the targets of
 *    every policy with a peer matching the pod before or after the change
 *    (pods peers by namespace and pod selector, ipBlock peers by its IPs,
 *    and egress rules without peers whose named ports resolve on any pod);
 *  - namespace labels: the nodes hosting the targets of every policy with a
 *    namespaceSelector peer matching the old or the new labels;
 *  - policy: the nodes hosting pods the old or the new policy selects;
 *  - node: itself.
 *
 * An update that leaves the model object equal marks nothing.
 *
 * {@link ClusterSnapshot.cluster} returns one Cluster object until the next
 * change, so every node of a batch is translated with one shared translator
 * and its caches.
 */
import { parseCidr, parseIp, rangeContains, type Range } from '../policy/cidr.js';
import {
  isEnforceable,
  qualifiedName,
  type Cluster,
  type Labels,
  type Namespace,
  type Node,
  type Peer,
  type Pod,
  type Policy,
  type Rule,
} from '../policy/model.js';
import { matchesSelector } from '../policy/selector.js';

type PodsPeer = Extract<Peer, { kind: 'pods' }>;

/** Counts of what the snapshot holds. */
export interface SnapshotSize {
  readonly namespaces: number;
  readonly pods: number;
  readonly policies: number;
  readonly nodes: number;
}

/** The cluster as the informers last saw it, indexed for dirty-node computation. */
export class ClusterSnapshot {
  private readonly namespaces = new Map<string, Namespace>();
  private readonly pods = new Map<string, Pod>();
  private readonly podsByNamespace = new Map<string, Map<string, Pod>>();
  private readonly podsByNode = new Map<string, Map<string, Pod>>();
  /** IP (as written) → pods claiming it: two pods may (a reused IP, a stale status). */
  private readonly podsByIp = new Map<string, Map<string, Pod>>();
  private readonly policies = new Map<string, Policy>();
  private readonly policiesByNamespace = new Map<string, Map<string, Policy>>();
  private readonly nodes = new Map<string, Node>();
  /** Parsed ipBlock CIDRs per policy, computed once. */
  private readonly blocks = new WeakMap<Policy, readonly Range[]>();
  private cached: Cluster | null = null;

  /** Adds or replaces a pod. @returns the nodes whose script may change. */
  setPod(pod: Pod): Set<string> {
    const key = qualifiedName(pod);
    const old = this.pods.get(key);
    if (old !== undefined && sameJson(old, pod)) return new Set();
    const dirty = this.nodesAffectedByPod(old, pod);
    if (old !== undefined) this.unindexPod(old);
    this.pods.set(key, pod);
    addTo(this.podsByNamespace, pod.namespace, key, pod);
    if (pod.nodeName !== '') addTo(this.podsByNode, pod.nodeName, key, pod);
    for (const ip of pod.ips) addTo(this.podsByIp, ip, key, pod);
    this.cached = null;
    return dirty;
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
    const old = this.pods.get(`${namespace}/${name}`);
    if (old === undefined) return new Set();
    const dirty = this.nodesAffectedByPod(old, undefined);
    this.unindexPod(old);
    this.cached = null;
    return dirty;
  }

  /** Adds or replaces a namespace. @returns the nodes whose script may change. */
  setNamespace(namespace: Namespace): Set<string> {
    const old = this.namespaces.get(namespace.name);
    if (old !== undefined && sameJson(old.labels, namespace.labels)) return new Set();
    this.namespaces.set(namespace.name, namespace);
    this.cached = null;
    return this.nodesAffectedByNamespace(old?.labels, namespace.labels);
  }

  /** Removes a namespace. @returns the nodes whose script may change. */
  deleteNamespace(name: string): Set<string> {
    const old = this.namespaces.get(name);
    if (old === undefined) return new Set();
    this.namespaces.delete(name);
    this.cached = null;
    return this.nodesAffectedByNamespace(old.labels, undefined);
  }

  /** Adds or replaces a policy. @returns the nodes whose script may change. */
  setPolicy(policy: Policy): Set<string> {
    const key = qualifiedName(policy);
    const old = this.policies.get(key);
    if (old !== undefined && sameJson(old, policy)) return new Set();
    this.policies.set(key, policy);
    addTo(this.policiesByNamespace, policy.namespace, key, policy);
    this.cached = null;
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
    this.cached = null;
    return this.nodesHostingTargets(old);
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
    for (const ns of this.peerNamespaces(policy, peer)) {
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
   * The nodes a pod change may touch: its own node(s), and those hosting the
   * targets of policies it is a peer of. Other pods claiming one of its IPs
   * count as changed too: which of them the IP is enforced for (shared-ips.ts)
   * may flip to a pod on another node, with other peers.
   */
  private nodesAffectedByPod(old: Pod | undefined, now: Pod | undefined): Set<string> {
    const dirty = new Set<string>();
    const changed = [old, now].filter((p): p is Pod => p !== undefined);
    const self = changed[0] === undefined ? '' : qualifiedName(changed[0]);
    const sharers = new Map<string, Pod>();
    for (const p of changed)
      for (const ip of p.ips)
        for (const [key, q] of this.podsByIp.get(ip) ?? []) if (key !== self) sharers.set(key, q);
    for (const p of [...changed, ...sharers.values()]) if (p.nodeName !== '') dirty.add(p.nodeName);
    const versions = [...changed, ...sharers.values()].filter((p) => isEnforceable(p));
    if (versions.length === 0) return dirty;
    for (const policy of this.policies.values()) {
      if (versions.some((p) => this.isPeerOf(policy, p))) {
        for (const n of this.nodesHostingTargets(policy)) dirty.add(n);
      }
    }
    return dirty;
  }

  private nodesAffectedByNamespace(old: Labels | undefined, now: Labels | undefined): Set<string> {
    const dirty = new Set<string>();
    const versions = [old, now].filter((l): l is Labels => l !== undefined);
    for (const policy of this.policies.values()) {
      const hit = allPeers(policy).some(
        (peer) =>
          peer.kind === 'pods' &&
          peer.namespaceSelector !== null &&
          versions.some((labels) => matchesSelector(peer.namespaceSelector!, labels)),
      );
      if (hit) for (const n of this.nodesHostingTargets(policy)) dirty.add(n);
    }
    return dirty;
  }

  /** True when some peer of `policy` can match the (enforceable) pod `pod`. */
  private isPeerOf(policy: Policy, pod: Pod): boolean {
    if (policy.egress.some((r) => r.peers === null && hasNamedPort(r))) return true;
    let addresses: ReturnType<typeof parseIp>[] | null = null;
    let blockIndex = 0;
    const blocks = this.blocksOf(policy);
    for (const peer of allPeers(policy)) {
      if (peer.kind === 'pods') {
        if (this.peerNamespaceMatches(policy, peer, pod.namespace)) {
          if (matchesSelector(peer.podSelector, pod.labels)) return true;
        }
        continue;
      }
      const block = blocks[blockIndex++];
      if (block === undefined) continue;
      addresses ??= pod.ips.flatMap(tryParseIp);
      if (addresses.some((a) => rangeContains(block, a))) return true;
    }
    return false;
  }

  private peerNamespaceMatches(policy: Policy, peer: PodsPeer, namespace: string): boolean {
    if (peer.namespaceSelector === null) return namespace === policy.namespace;
    const labels = this.namespaces.get(namespace)?.labels;
    return labels !== undefined && matchesSelector(peer.namespaceSelector, labels);
  }

  private peerNamespaces(policy: Policy, peer: PodsPeer): string[] {
    if (peer.namespaceSelector === null) return [policy.namespace];
    const selector = peer.namespaceSelector;
    return [...this.namespaces.values()]
      .filter((n) => matchesSelector(selector, n.labels))
      .map((n) => n.name);
  }

  /** ipBlock peers of `policy` parsed, in {@link allPeers} order (unparseable ones omitted as undefined). */
  private blocksOf(policy: Policy): readonly Range[] {
    let blocks = this.blocks.get(policy);
    if (blocks === undefined) {
      blocks = allPeers(policy)
        .filter((p): p is Extract<Peer, { kind: 'ipBlock' }> => p.kind === 'ipBlock')
        .map((p) => tryParseCidr(p.cidr));
      this.blocks.set(policy, blocks);
    }
    return blocks;
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

function allPeers(policy: Policy): Peer[] {
  const out: Peer[] = [];
  for (const rule of [...policy.ingress, ...policy.egress]) out.push(...(rule.peers ?? []));
  return out;
}

function hasNamedPort(rule: Rule): boolean {
  return (rule.ports ?? []).some((p) => typeof p.port === 'string');
}

function tryParseIp(text: string): ReturnType<typeof parseIp>[] {
  try {
    return [parseIp(text)];
  } catch {
    return [];
  }
}

/** The CIDR's range; an unparseable CIDR (rejected on load anyway) matches nothing. */
function tryParseCidr(text: string): Range {
  try {
    return parseCidr(text);
  } catch {
    return { family: 'ip', first: 1n, last: 0n };
  }
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
