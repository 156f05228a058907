/**
 * The oracle's question and answer. A Connection is one new flow between two
 * IPs; the oracle resolves each IP to a pod (or a node, or nothing) from the
 * Cluster itself, so that pods, hosts and external addresses are asked about
 * the same way the kernel sees them: by address.
 */
import type { ClusterAction, Direction, Protocol, Tier } from './model.js';

export interface Connection {
  /** Source IP (IPv4 or IPv6, canonical text). */
  readonly from: string;
  /** Destination IP, same family as `from`. */
  readonly to: string;
  readonly protocol: Protocol;
  /** Destination port, 1–65535 (named ports are resolved by the caller). */
  readonly port: number;
  /**
   * The pod meant at `from` (`namespace/name`), when the question named one.
   * It matters only when several pods claim the address: the answer is then
   * about this pod, decided by the policies of the pod the IP is enforced for.
   */
  readonly fromPod?: string;
  /** The pod meant at `to`; see `fromPod`. */
  readonly toPod?: string;
}

/** A policy rule that allowed the connection. */
export interface RuleRef {
  /** `namespace/name`. */
  readonly policy: string;
  readonly direction: Direction;
  /** Index into the policy's `ingress` or `egress` list. */
  readonly rule: number;
}

/**
 * Why a side decided as it did:
 *  - `not-a-pod`: the address is no enforceable pod (external, host, hostNetwork);
 *  - `host-to-own-pod`: the node's own traffic to its pod (kubelet probes),
 *    allowed before any tier is consulted;
 *  - `admin-accept` / `admin-deny`: an Admin-tier ClusterNetworkPolicy rule
 *    matched first, with action Accept / Deny;
 *  - `allowed-by-rule`: isolated by NetworkPolicy, and at least one selecting
 *    policy's rule matched;
 *  - `no-rule-matched`: isolated by NetworkPolicy, and none did;
 *  - `baseline-accept` / `baseline-deny`: not isolated, and a Baseline-tier
 *    rule matched first, with action Accept / Deny;
 *  - `failed-closed`: the first Admin or Baseline rule to match is a Deny or
 *    Pass rule that fails closed (a peer nftpol cannot honour), which the API
 *    says to treat as "deny all";
 *  - `not-isolated`: the default — no NetworkPolicy isolates the pod in this
 *    direction and no ClusterNetworkPolicy rule decided (none matched, or
 *    only Pass rules did), so the connection is allowed.
 */
export type SideReason =
  | 'not-a-pod'
  | 'not-isolated'
  | 'host-to-own-pod'
  | 'allowed-by-rule'
  | 'no-rule-matched'
  | 'admin-accept'
  | 'admin-deny'
  | 'baseline-accept'
  | 'baseline-deny'
  | 'failed-closed';

/**
 * The tier that decided a side, in the order they are evaluated: the Admin
 * tier, NetworkPolicy, the Baseline tier, then `Default` (allow) when none did.
 */
export type SideTier = 'Admin' | 'NetworkPolicy' | 'Baseline' | 'Default';

/** A ClusterNetworkPolicy rule the evaluation stopped at: the one that decided, or a Pass. */
export interface ClusterRuleRef {
  /** `cnp:<name>` (see clusterPolicyName). */
  readonly policy: string;
  readonly tier: Tier;
  readonly priority: number;
  readonly direction: Direction;
  /** Index into the policy's `ingress` or `egress` list. */
  readonly rule: number;
  /** The rule's `name`; empty when it has none. */
  readonly name: string;
  /** The action as written; a Deny or Pass rule that fails closed denies. */
  readonly action: ClusterAction;
  /** Why the rule fails closed (ClusterRule.failClosed), or null. */
  readonly failClosed: string | null;
}

/**
 * An address several enforceable pods claim. The dataplane dispatches by
 * address, so the policies of one of them — `enforced` — decide for all.
 */
export interface SharedIpNote {
  readonly ip: string;
  /** Every pod claiming the address, `namespace/name`, the enforced one first. */
  readonly pods: readonly string[];
  /** The pod whose policies decide this side (see src/policy/shared-ips.ts). */
  readonly enforced: string;
}

/** The decision of one side: egress of the source, or ingress of the destination. */
export interface SideVerdict {
  readonly direction: Direction;
  /**
   * `namespace/name` of the pod on this side, or null: the pod the address is
   * enforced for, or the one the question named when it shares the address.
   */
  readonly pod: string | null;
  /** NetworkPolicy isolates the pod in this direction (whichever tier decided). */
  readonly isolated: boolean;
  readonly allowed: boolean;
  readonly reason: SideReason;
  /** NetworkPolicies selecting the pod for this direction, sorted. */
  readonly policies: readonly string[];
  /**
   * Every NetworkPolicy rule that matched (all of them, not only the first),
   * sorted; empty unless the NetworkPolicy tier decided (`allowed-by-rule`).
   */
  readonly allowedBy: readonly RuleRef[];
  /**
   * The tier that decided; null when none was consulted (`not-a-pod`,
   * `host-to-own-pod`).
   */
  readonly tier: SideTier | null;
  /**
   * The Admin or Baseline rule that decided (`admin-*`, `baseline-*`,
   * `failed-closed`); null when NetworkPolicy or the default did.
   */
  readonly decidedBy: ClusterRuleRef | null;
  /**
   * The Pass rules evaluation went through before deciding, in order: at most
   * one of the Admin tier (which skipped the rest of it) and one of the
   * Baseline tier (which handed over to the default).
   */
  readonly passed: readonly ClusterRuleRef[];
  /**
   * The ClusterNetworkPolicies whose subject selects the pod and that have
   * rules for this direction, in evaluation order: the Admin tier by
   * priority then name, then the Baseline tier likewise.
   */
  readonly clusterPolicies: readonly string[];
  /** Present only when several pods claim this side's address. */
  readonly sharedIp?: SharedIpNote;
}

export interface Verdict {
  readonly connection: Connection;
  /** Both sides allowed. */
  readonly allowed: boolean;
  readonly egress: SideVerdict;
  readonly ingress: SideVerdict;
}
