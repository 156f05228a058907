/**
 * Fixture builders: short calls that read like the scenario, with overrides
 * for the one field a test is about. Every test builds its Cluster here rather
 * than writing object literals.
 *
 *   cluster(
 *     [ns('a', { team: 'x' })],
 *     [pod('a/web', { app: 'web' }, { ips: ['10.0.0.5'], nodeName: 'n1', ports: [named('http', 8080)] })],
 *     [policy('a/deny', { podSelector: sel({ app: 'web' }), ingress: [] })],
 *   )
 */
import type {
  Cluster,
  ClusterAction,
  ClusterPeer,
  ClusterPolicy,
  ClusterPort,
  ClusterRule,
  ContainerPort,
  Direction,
  Labels,
  LabelSelector,
  Namespace,
  Node,
  Peer,
  Pod,
  Policy,
  PortSpec,
  Protocol,
  Rule,
  SelectorRequirement,
  Tier,
} from '../../src/policy/model.js';

/** A selector from matchLabels (and optional expressions). */
export function sel(
  matchLabels: Labels = {},
  ...matchExpressions: SelectorRequirement[]
): LabelSelector {
  return { matchLabels, matchExpressions };
}

/** A matchExpressions requirement. */
export function expr(
  key: string,
  operator: SelectorRequirement['operator'],
  ...values: string[]
): SelectorRequirement {
  return { key, operator, values };
}

/** A namespace; the `kubernetes.io/metadata.name` label is added as the API server does. */
export function ns(name: string, labels: Labels = {}): Namespace {
  return { name, labels: { ...labels, 'kubernetes.io/metadata.name': name } };
}

/** A named container port. */
export function named(
  name: string,
  containerPort: number,
  protocol: Protocol = 'TCP',
): ContainerPort {
  return { name, containerPort, protocol };
}

/** A running pod `ns/name` with the given labels; override anything else. */
export function pod(qualified: string, labels: Labels = {}, over: Partial<Pod> = {}): Pod {
  const [namespace, name] = splitName(qualified);
  return {
    namespace,
    name,
    nodeName: 'node-1',
    labels,
    ips: [],
    hostNetwork: false,
    phase: 'Running',
    ports: [],
    ...over,
  };
}

/** A node with pod CIDRs and InternalIP addresses. */
export function node(name: string, over: Partial<Node> = {}): Node {
  return { name, podCIDRs: [], addresses: [], ...over };
}

/** Policy fields a test may set; `policyTypes` defaults as the API server does. */
export interface PolicyInput {
  readonly podSelector?: LabelSelector;
  readonly policyTypes?: readonly Direction[];
  readonly ingress?: readonly Rule[];
  readonly egress?: readonly Rule[];
}

/** A policy `ns/name`; defaults: selects every pod, Ingress (+Egress when egress rules are given). */
export function policy(qualified: string, input: PolicyInput = {}): Policy {
  const [namespace, name] = splitName(qualified);
  const egress = input.egress ?? [];
  const policyTypes: readonly Direction[] =
    input.policyTypes ?? (egress.length > 0 ? ['ingress', 'egress'] : ['ingress']);
  return {
    namespace,
    name,
    podSelector: input.podSelector ?? sel(),
    policyTypes,
    ingress: input.ingress ?? [],
    egress,
  };
}

/** A rule; omit `peers` / `ports` for "all". */
export function rule(
  peers: readonly Peer[] | null = null,
  ports: readonly PortSpec[] | null = null,
): Rule {
  return { peers, ports };
}

/** Peer: pods of the policy's namespace matching `podSelector`. */
export function podPeer(podSelector: LabelSelector = sel()): Peer {
  return { kind: 'pods', namespaceSelector: null, podSelector };
}

/** Peer: pods matching `podSelector` (default all) in namespaces matching `namespaceSelector`. */
export function nsPeer(namespaceSelector: LabelSelector, podSelector: LabelSelector = sel()): Peer {
  return { kind: 'pods', namespaceSelector, podSelector };
}

/** Peer: an ipBlock. */
export function ipBlock(cidr: string, ...except: string[]): Peer {
  return { kind: 'ipBlock', cidr, except };
}

/** Port: a number (optionally a range to endPort) or a name; protocol defaults to TCP. */
export function port(p?: number | string, protocol: Protocol = 'TCP', endPort?: number): PortSpec {
  return {
    protocol,
    ...(p === undefined ? {} : { port: p }),
    ...(endPort === undefined ? {} : { endPort }),
  };
}

/**
 * A cluster. Namespaces used by pods or policies but not listed are added
 * (as the loader does); nodes named by pods but not listed are added too.
 */
export function cluster(
  namespaces: readonly Namespace[],
  pods: readonly Pod[] = [],
  policies: readonly Policy[] = [],
  nodes: readonly Node[] = [],
): Cluster {
  const nsNames = new Set(namespaces.map((n) => n.name));
  const extraNs = [...pods, ...policies]
    .map((o) => o.namespace)
    .filter((n) => !nsNames.has(n) && (nsNames.add(n), true))
    .map((n) => ns(n));
  const nodeNames = new Set(nodes.map((n) => n.name));
  const extraNodes = pods
    .map((p) => p.nodeName)
    .filter((n) => n !== '' && !nodeNames.has(n) && (nodeNames.add(n), true))
    .map((n) => node(n));
  return {
    namespaces: [...namespaces, ...extraNs],
    pods,
    policies,
    nodes: [...nodes, ...extraNodes],
  };
}

// --- ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2) -------------

/** ClusterNetworkPolicy fields a test may set. */
export interface ClusterPolicyInput {
  /** @default 'Admin' */
  readonly tier?: Tier;
  /** @default 0 */
  readonly priority?: number;
  /** @default every pod: both selectors empty. */
  readonly subject?: {
    readonly namespaceSelector?: LabelSelector;
    readonly podSelector?: LabelSelector;
  };
  readonly ingress?: readonly ClusterRule[];
  readonly egress?: readonly ClusterRule[];
}

/** A ClusterNetworkPolicy `name`; defaults: Admin tier, priority 0, every pod, no rules. */
export function clusterPolicy(name: string, input: ClusterPolicyInput = {}): ClusterPolicy {
  return {
    name,
    tier: input.tier ?? 'Admin',
    priority: input.priority ?? 0,
    subject: {
      namespaceSelector: input.subject?.namespaceSelector ?? sel(),
      podSelector: input.subject?.podSelector ?? sel(),
    },
    ingress: input.ingress ?? [],
    egress: input.egress ?? [],
  };
}

/**
 * A ClusterNetworkPolicy rule: its action, peers and `protocols` (null: all);
 * override `name` or `failClosed` (default '' and null).
 */
export function clusterRule(
  action: ClusterAction,
  peers: readonly ClusterPeer[],
  ports: readonly ClusterPort[] | null = null,
  over: Partial<Pick<ClusterRule, 'name' | 'failClosed'>> = {},
): ClusterRule {
  return { name: '', action, peers, ports, failClosed: null, ...over };
}

/** CNP peer `namespaces`: every pod of the namespaces `namespaceSelector` selects. */
export function clusterNamespaces(namespaceSelector: LabelSelector = sel()): ClusterPeer {
  return { kind: 'pods', namespaceSelector, podSelector: sel() };
}

/** CNP peer `pods`: pods matching `podSelector` in namespaces matching `namespaceSelector`. */
export function clusterPods(
  namespaceSelector: LabelSelector,
  podSelector: LabelSelector = sel(),
): ClusterPeer {
  return { kind: 'pods', namespaceSelector, podSelector };
}

/** CNP peer `networks`: CIDRs. */
export function clusterNetworks(...cidrs: string[]): ClusterPeer {
  return { kind: 'networks', cidrs };
}

/** CNP protocol entry: `port` (to `last`, for a range) of `protocol` (default TCP). */
export function clusterPort(port: number, protocol: Protocol = 'TCP', last = port): ClusterPort {
  return { kind: 'port', protocol, first: port, last };
}

/** CNP protocol entry `destinationNamedPort`. */
export function clusterNamedPort(name: string): ClusterPort {
  return { kind: 'named', name };
}

/** `c` with these ClusterNetworkPolicies (replacing any it had). */
export function withClusterPolicies(c: Cluster, ...clusterPolicies: ClusterPolicy[]): Cluster {
  return { ...c, clusterPolicies };
}

function splitName(qualified: string): [string, string] {
  const i = qualified.indexOf('/');
  if (i <= 0) throw new Error(`expected namespace/name, got "${qualified}"`);
  return [qualified.slice(0, i), qualified.slice(i + 1)];
}
