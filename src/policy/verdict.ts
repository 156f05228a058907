/**
 * The oracle's question and answer. A Connection is one new flow between two
 * IPs; the oracle resolves each IP to a pod (or a node, or nothing) from the
 * Cluster itself, so that pods, hosts and external addresses are asked about
 * the same way the kernel sees them: by address.
 */
import type { Direction, Protocol } from './model.js';

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
 *  - `not-isolated`: a pod no policy isolates in this direction;
 *  - `host-to-own-pod`: the node's own traffic to its pod (kubelet probes), always allowed;
 *  - `allowed-by-rule`: isolated, and at least one selecting policy's rule matched;
 *  - `no-rule-matched`: isolated, and none did.
 */
export type SideReason =
  'not-a-pod' | 'not-isolated' | 'host-to-own-pod' | 'allowed-by-rule' | 'no-rule-matched';

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
  readonly isolated: boolean;
  readonly allowed: boolean;
  readonly reason: SideReason;
  /** Policies selecting the pod for this direction, sorted. */
  readonly policies: readonly string[];
  /** Every rule that matched (all of them, not only the first), sorted. */
  readonly allowedBy: readonly RuleRef[];
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
