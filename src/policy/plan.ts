/**
 * FirewallPlan: the contract between translate (policy semantics) and render
 * (nft syntax). A plan says, for one node, which local pods are isolated in
 * which direction, and for each the ordered list of allows, each pointing at a
 * named set of disjoint elements. It holds no nft syntax, so it can be
 * evaluated packet by packet in tests, and rendered byte-for-byte
 * deterministically: every list here is already sorted by its owner, translate.
 */
import type { Direction, Family, Protocol } from './model.js';

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

/**
 * What a set's elements hold:
 *  - `addr`: peer addresses only (rule without ports);
 *  - `port`: protocol . port range (rule without peers), family-independent;
 *  - `addrPort`: peer address . protocol . port range.
 */
export type SetKind = 'addr' | 'port' | 'addrPort';

/**
 * One element. Fields present exactly as the set's kind says. Elements of a
 * set are pairwise disjoint (nft rejects overlapping interval elements in
 * concatenated sets) and sorted.
 */
export interface SetElement {
  readonly addr?: AddrRange;
  readonly protocol?: Protocol;
  readonly port?: PortRange;
}

/** A set, named after its content so that identical sets are rendered once. */
export interface NamedSet {
  readonly name: string;
  readonly kind: SetKind;
  /** null for `port` sets, which match either family. */
  readonly family: Family | null;
  readonly elements: readonly SetElement[];
}

/** How one allow matches a packet (the peer is saddr on ingress, daddr on egress). */
export type Match = { readonly kind: 'all' } | { readonly kind: 'set'; readonly set: string };

/** One accept (ingress) or return-to-continue (egress) line of a pod chain. */
export interface Allow {
  /** `namespace/name` of the policy the rule belongs to. */
  readonly policy: string;
  /** Index of the rule in the policy's `ingress` or `egress` list. */
  readonly rule: number;
  readonly match: Match;
}

/** The chain holding one isolated local pod's rules for one direction. */
export interface PodChain {
  /** nft chain name, unique within the table. */
  readonly name: string;
  /** `namespace/name` of the pod. */
  readonly pod: string;
  readonly direction: Direction;
  /** The pod's IPs, which dispatch to this chain (both families). */
  readonly ips: readonly string[];
  /** The policies isolating the pod in this direction, sorted. */
  readonly policies: readonly string[];
  /** Allows in policy-name then rule order; the chain ends in a counted drop. */
  readonly allows: readonly Allow[];
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
  /** Sorted by name; each referenced by at least one allow. */
  readonly sets: readonly NamedSet[];
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
  readonly sets: number;
  readonly setElements: number;
}

/** Counts the plan's parts; pure. */
export function summarizePlan(plan: FirewallPlan): PlanSummary {
  return {
    localPods: plan.localPods,
    isolatedPods: new Set(plan.chains.map((c) => c.pod)).size,
    policies: plan.policies.length,
    rules: plan.chains.reduce((n, c) => n + c.allows.length, 0),
    sets: plan.sets.length,
    setElements: plan.sets.reduce((n, s) => n + s.elements.length, 0),
  };
}
