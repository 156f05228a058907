/**
 * The cluster as NetworkPolicy sees it: plain readonly data with the API
 * server's defaults already applied (see from-k8s.ts). Every stage of the pure
 * core — translate, explain — reads this and nothing else, so a Cluster can be
 * built from YAML files, from informers, or from test builders alike.
 */

/** Transport protocols NetworkPolicy can name. */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** The two directions a policy can isolate. */
export type Direction = 'ingress' | 'egress';

/** Address family, named as nft names it (`ip` = IPv4, `ip6` = IPv6). */
export type Family = 'ip' | 'ip6';

export type Labels = Readonly<Record<string, string>>;

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface SelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  /** Empty for Exists / DoesNotExist. */
  readonly values: readonly string[];
}

/** A metav1.LabelSelector. Both parts empty selects everything. */
export interface LabelSelector {
  readonly matchLabels: Labels;
  readonly matchExpressions: readonly SelectorRequirement[];
}

/** The label the API server puts on every Namespace: its own name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export interface Namespace {
  readonly name: string;
  /** Always carries {@link NAMESPACE_NAME_LABEL} (added when loading). */
  readonly labels: Labels;
}

/** A port a container declares; only those with a name matter for policy. */
export interface ContainerPort {
  readonly name: string;
  readonly containerPort: number;
  readonly protocol: Protocol;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface Pod {
  readonly namespace: string;
  readonly name: string;
  /** `spec.nodeName`; empty when not yet scheduled. */
  readonly nodeName: string;
  readonly labels: Labels;
  /** Every IP of `status.podIPs` (IPv4 and IPv6), canonical text form. */
  readonly ips: readonly string[];
  readonly hostNetwork: boolean;
  readonly phase: PodPhase;
  /** Named container ports of all containers (and init containers). */
  readonly ports: readonly ContainerPort[];
  /**
   * `metadata.deletionTimestamp` is set: the pod is shutting down, and its IP
   * may already be another pod's. Absent means false.
   */
  readonly terminating?: boolean;
  /**
   * `metadata.creationTimestamp`, in milliseconds since the epoch; absent
   * when unknown. With `terminating`, it decides which pod a shared IP is
   * enforced for (see shared-ips.ts).
   */
  readonly created?: number;
}

export interface Node {
  readonly name: string;
  /** `spec.podCIDRs` (or `spec.podCIDR`), used by fail-closed mode. */
  readonly podCIDRs: readonly string[];
  /** InternalIP addresses of the node. */
  readonly addresses: readonly string[];
}

/**
 * One entry of a rule's `ports`. `port` undefined means every port of the
 * protocol; a string is a named port, resolved per destination pod.
 * `endPort` is only ever set with a numeric `port` (validated on load).
 */
export interface PortSpec {
  readonly protocol: Protocol;
  readonly port?: number | string;
  readonly endPort?: number;
}

/**
 * One entry of a rule's `from`/`to`.
 *  - `pods`: `namespaceSelector` null means the policy's own namespace
 *    (podSelector alone); otherwise the namespaces it selects. `podSelector`
 *    is the empty selector when absent (every pod of those namespaces).
 *  - `ipBlock`: a CIDR less its `except` CIDRs (same family, inside it).
 */
export type Peer =
  | {
      readonly kind: 'pods';
      readonly namespaceSelector: LabelSelector | null;
      readonly podSelector: LabelSelector;
    }
  | { readonly kind: 'ipBlock'; readonly cidr: string; readonly except: readonly string[] };

/**
 * One ingress or egress rule. `peers` null means the rule had no `from`/`to`
 * (all peers); `ports` null means no `ports` (all ports and protocols).
 * An empty array can only arise from an explicit empty list, which the API
 * treats the same as absent; from-k8s normalises both to null.
 */
export interface Rule {
  readonly peers: readonly Peer[] | null;
  readonly ports: readonly PortSpec[] | null;
}

export interface Policy {
  readonly namespace: string;
  readonly name: string;
  readonly podSelector: LabelSelector;
  /** After defaulting: Ingress always unless given, Egress when egress rules exist. */
  readonly policyTypes: readonly Direction[];
  readonly ingress: readonly Rule[];
  readonly egress: readonly Rule[];
}

// --- ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2) -------------

/** The tier of a ClusterNetworkPolicy: Admin before NetworkPolicy, Baseline after. */
export type Tier = 'Admin' | 'Baseline';

/** What a ClusterNetworkPolicy rule does with the traffic it matches. */
export type ClusterAction = 'Accept' | 'Deny' | 'Pass';

/**
 * One peer of a ClusterNetworkPolicy rule, after loading:
 *  - `pods`: the pods `podSelector` selects in the namespaces
 *    `namespaceSelector` selects (a `namespaces` peer has the empty
 *    podSelector); host-network pods never match;
 *  - `networks`: CIDRs (egress only), matched like an ipBlock without
 *    excepts, on any protocol (ICMP too).
 * Peers nftpol cannot honour (`nodes`, `domainNames`, a peer with no known
 * field) are not peers: they make the whole rule fail closed
 * ({@link ClusterRule.failClosed}).
 */
export type ClusterPeer =
  | {
      readonly kind: 'pods';
      readonly namespaceSelector: LabelSelector;
      readonly podSelector: LabelSelector;
    }
  | { readonly kind: 'networks'; readonly cidrs: readonly string[] };

/**
 * One entry of a rule's `protocols`: a destination port or range of one
 * protocol, or a named container port (any protocol the container port
 * declares), resolved on the destination pod.
 */
export type ClusterPort =
  | {
      readonly kind: 'port';
      readonly protocol: Protocol;
      readonly first: number;
      /** Equal to `first` for a single port. */
      readonly last: number;
    }
  | { readonly kind: 'named'; readonly name: string };

/** One ingress or egress rule of a ClusterNetworkPolicy, in its written order. */
export interface ClusterRule {
  /** `spec.ingress[i].name`; empty when not given. */
  readonly name: string;
  readonly action: ClusterAction;
  /** The peers it matches (at least one unless it fails closed). */
  readonly peers: readonly ClusterPeer[];
  /** null: no `protocols`, every protocol and port. */
  readonly ports: readonly ClusterPort[] | null;
  /**
   * Why the rule cannot be honoured as written (`peer 0: nodes is not
   * supported`), or null. As the API asks, an Accept rule that fails closed
   * matches nothing, and a Deny or Pass rule denies everything.
   */
  readonly failClosed: string | null;
}

/** A ClusterNetworkPolicy after loading (defaults applied, validated). */
export interface ClusterPolicy {
  /** `metadata.name` (cluster-scoped). */
  readonly name: string;
  readonly tier: Tier;
  /** 0–1000; lower is evaluated first within its tier. */
  readonly priority: number;
  /**
   * The pods it applies to: `subject.pods`, or `subject.namespaces` with the
   * empty podSelector. Host-network pods are never subjects.
   */
  readonly subject: {
    readonly namespaceSelector: LabelSelector;
    readonly podSelector: LabelSelector;
  };
  readonly ingress: readonly ClusterRule[];
  readonly egress: readonly ClusterRule[];
}

/** Everything the pure core needs to know about a cluster. */
export interface Cluster {
  readonly namespaces: readonly Namespace[];
  readonly pods: readonly Pod[];
  readonly policies: readonly Policy[];
  readonly nodes: readonly Node[];
  /** ClusterNetworkPolicies (admin and baseline tiers); absent means none. */
  readonly clusterPolicies?: readonly ClusterPolicy[];
}

/** How ClusterNetworkPolicies are named in output: `cnp:<name>` never collides with `namespace/name`. */
export function clusterPolicyName(policy: { readonly name: string }): string {
  return `cnp:${policy.name}`;
}

/** `namespace/name`, the way policies and pods are named in output. */
export function qualifiedName(obj: { readonly namespace: string; readonly name: string }): string {
  return `${obj.namespace}/${obj.name}`;
}

/**
 * A pod takes part in policy — as a target or as a peer — only when it has
 * IPs, is not on the host network, and is not terminal (a Succeeded or Failed
 * pod's IPs are free for reuse).
 */
export function isEnforceable(pod: Pod): boolean {
  return (
    pod.ips.length > 0 && !pod.hostNetwork && pod.phase !== 'Succeeded' && pod.phase !== 'Failed'
  );
}
