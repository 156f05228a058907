/**
 * FirewallPlan: the contract between translate (policy semantics) and render
 * (nft syntax). A plan says, for one node, which local pods are isolated in
 * which direction, and for each the ordered list of allows. An allow names
 * its peers by identity — a shared set whose members live elsewhere
 * (AddressSet slices) — or inline (ipBlocks, ports), so the plan of a node
 * changes only when its own pods or the policies selecting them change, never
 * when a remote pod comes, goes or is relabelled. It holds no nft syntax, so
 * it can be evaluated packet by packet in tests (with the members), and
 * rendered byte-for-byte deterministically: every list here is already sorted
 * by its owner, translate.
 */
import type { ClusterAction, Direction, Family, Protocol, Tier } from './model.js';

/** Inclusive address range, canonical text form, one family. */
export interface AddrRange {
  readonly first: string;
  readonly last: string;
}

/** Inclusive port range, 0–65535. */
export interface PortRange {
  readonly first: number;
  readonly last: number;
}

/** A protocol with a destination port range, as a rule matches it inline. */
export interface ProtocolPort {
  readonly protocol: Protocol;
  readonly port: PortRange;
}

/**
 * What a shared set holds (v2): `addr` pod addresses (a `pods` peer);
 * `addrPort` address . protocol . port (an egress named port, resolved on
 * each destination pod).
 */
export type SharedSetKind = 'addr' | 'addrPort';

/**
 * One family's nft set of a shared peer set, declared by the node's script.
 * Its members are not in the plan: they live in AddressSet slices (shared by
 * every node) and reach the script through compose.ts.
 */
export interface SharedSetUse {
  /** `pods-<hex>` or `port-<hex>` (peer-sets.ts): identity, never content. */
  readonly id: string;
  readonly kind: SharedSetKind;
  readonly family: Family;
}

/**
 * The peer side of an allow (saddr on ingress, daddr on egress):
 *  - `all`: any address;
 *  - `set`: a shared `pods` set, in the allow's family;
 *  - `cidrs`: an ipBlock less its excepts, inline, in the allow's family.
 */
export type PeerMatch =
  | { readonly kind: 'all' }
  | { readonly kind: 'set'; readonly set: string }
  | { readonly kind: 'cidrs'; readonly ranges: readonly AddrRange[] };

/**
 * The port side of an allow:
 *  - `all`: every protocol and port;
 *  - `ports`: inline protocol . port ranges, sorted and disjoint;
 *  - `namedPort`: a shared `port-…` set of address . protocol . port, in the
 *    allow's family; the peer is then `all` (the set holds the addresses).
 */
export type PortMatch =
  | { readonly kind: 'all' }
  | { readonly kind: 'ports'; readonly ports: readonly ProtocolPort[] }
  | { readonly kind: 'namedPort'; readonly set: string };

/** One accept (ingress) or return-to-continue (egress) line of a pod chain. */
export interface Allow {
  /** `namespace/name` of the policy the rule belongs to. */
  readonly policy: string;
  /** Index of the rule in the policy's `ingress` or `egress` list. */
  readonly rule: number;
  /** The family the line matches; null when it matches both (no address in it). */
  readonly family: Family | null;
  readonly peer: PeerMatch;
  readonly ports: PortMatch;
}

/**
 * One line of a ClusterNetworkPolicy tier in a pod chain: an allow's match
 * with the rule's action. `policy` is `cnp:<name>`; `rule` the index in its
 * ingress or egress list. A rule that fails closed (an Accept never appears)
 * is one match-everything Deny line with `failClosed` set.
 */
export interface TierRule extends Allow {
  readonly tier: Tier;
  readonly action: ClusterAction;
  /** The rule's `name` ('' when none). */
  readonly name: string;
  readonly failClosed: boolean;
}

/** The chain holding one local pod's rules for one direction. */
export interface PodChain {
  /** nft chain name, unique within the table. */
  readonly name: string;
  /** `namespace/name` of the pod. */
  readonly pod: string;
  readonly direction: Direction;
  /** The pod's IPs, which dispatch to this chain (both families). */
  readonly ips: readonly string[];
  /**
   * The NetworkPolicies isolating the pod in this direction, sorted; empty
   * when none does (then `allows` is empty and the Baseline tier decides).
   */
  readonly policies: readonly string[];
  /** NetworkPolicy allows in policy-name then rule order; an isolated pod's ends in a counted drop. */
  readonly allows: readonly Allow[];
  /**
   * Admin-tier lines, in evaluation order (priority, then name, then rule
   * order); the first match decides (Pass skips to NetworkPolicy). Absent or
   * empty when no Admin ClusterNetworkPolicy applies.
   */
  readonly admin?: readonly TierRule[];
  /**
   * Baseline-tier lines, likewise; only for a pod NetworkPolicy does not
   * isolate in this direction (an isolated pod never reaches the tier).
   */
  readonly baseline?: readonly TierRule[];
  /** `cnp:<name>` of the ClusterNetworkPolicies with lines here, sorted. */
  readonly clusterPolicies?: readonly string[];
}

/** Fail-closed mode: local pod IPs not yet known to the controller are dropped. */
export interface FailClosed {
  /** The node's pod CIDRs. */
  readonly podCIDRs: readonly string[];
  /** IPs of every enforceable local pod (isolated or not), which stay reachable. */
  readonly knownPodIPs: readonly string[];
}

/** Everything render needs to write one node's ruleset. */
export interface FirewallPlan {
  readonly node: string;
  /** Sorted by name. */
  readonly chains: readonly PodChain[];
  /**
   * The shared sets the chains use, sorted by id then family (IPv4 first);
   * each referenced by at least one allow.
   */
  readonly sets: readonly SharedSetUse[];
  /** `namespace/name` of every policy that selects a local pod, sorted. */
  readonly policies: readonly string[];
  /** Number of enforceable pods on the node. */
  readonly localPods: number;
  readonly failClosed: FailClosed | null;
}

/** Counts for NodeFirewall `spec.summary` and for benchmarks. */
export interface PlanSummary {
  readonly localPods: number;
  readonly isolatedPods: number;
  readonly policies: number;
  readonly rules: number;
  /** Shared sets the script declares (per family). */
  readonly sets: number;
  /** Inline elements: ipBlock ranges and protocol . port ranges, over all allows. */
  readonly setElements: number;
}

/** Counts the plan's parts; pure. */
export function summarizePlan(plan: FirewallPlan): PlanSummary {
  return {
    localPods: plan.localPods,
    isolatedPods: new Set(plan.chains.map((c) => c.pod)).size,
    policies: plan.policies.length,
    rules: plan.chains.reduce(
      (n, c) => n + c.allows.length + (c.admin?.length ?? 0) + (c.baseline?.length ?? 0),
      0,
    ),
    sets: plan.sets.length,
    setElements: plan.chains.reduce(
      (n, c) =>
        [...c.allows, ...(c.admin ?? []), ...(c.baseline ?? [])].reduce(
          (m, a) =>
            m +
            (a.peer.kind === 'cidrs' ? a.peer.ranges.length : 0) +
            (a.ports.kind === 'ports' ? a.ports.ports.length : 0),
          n,
        ),
      0,
    ),
  };
}
