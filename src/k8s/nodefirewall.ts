/**
 * The NodeFirewall custom resource: the controller's per-node output and the
 * executor's input. These types mirror `crds/nodefirewalls.nftpol.io.yaml`
 * field for field; change both together.
 *
 * One object per node, cluster-scoped, named after the node, owned by the Node
 * (so it is garbage collected with it). The controller owns `spec` (written by
 * server-side apply); the executor owns `status` (written through the status
 * subresource only).
 */
import type { PlanSummary } from '../policy/plan.js';
import type { Condition } from './conditions.js';

/** API group of the NodeFirewall CRD. */
export const GROUP = 'nftpol.io';
/** The only served version. */
export const VERSION = 'v1alpha1';
/** `apiVersion` field value: `nftpol.io/v1alpha1`. */
export const API_VERSION = `${GROUP}/${VERSION}`;
/** Resource name in URLs: `/apis/nftpol.io/v1alpha1/nodefirewalls/<node>`. */
export const PLURAL = 'nodefirewalls';
/** Singular resource name (kubectl). */
export const SINGULAR = 'nodefirewall';
/** Object kind. */
export const KIND = 'NodeFirewall';
/** Kind of the list returned by a collection GET. */
export const LIST_KIND = 'NodeFirewallList';
/** kubectl short name. */
export const SHORT_NAMES: readonly string[] = ['nfw'];

/** Condition types the executor reports (see DESIGN.md "The NodeFirewall resource"). */
export type NodeFirewallConditionType = 'Applied' | 'InSync' | 'Ready' | 'HostUsable' | 'SetsReady';

/**
 * `spec.summary`: the plan's counts ({@link PlanSummary}) and the policies in
 * the script. The controller always writes `policyNames`; server-side apply
 * drops it when empty, so readers take absent as none.
 */
export interface NodeFirewallSummary extends PlanSummary {
  /** `namespace/name` of every policy in the script, sorted. */
  readonly policyNames: readonly string[];
}

/** The summary of a script with nothing in it (or of a spec that carries none). */
export const EMPTY_SUMMARY: NodeFirewallSummary = {
  localPods: 0,
  isolatedPods: 0,
  policies: 0,
  rules: 0,
  sets: 0,
  setElements: 0,
  policyNames: [],
};

/**
 * Desired state, written by the controller. Exactly one of `script` and
 * `scriptGzip` is set (src/k8s/script-encoding.ts); read them with
 * `decodeSpecScript`.
 */
export interface NodeFirewallSpec {
  /** The complete nft script (`add table` / `delete table` / full table), when not compressed. */
  readonly script?: string;
  /** base64 of the gzip of the script's UTF-8 bytes, used instead of `script` for large scripts. */
  readonly scriptGzip?: string;
  /** `sha256:<hex>` of the (uncompressed) script's UTF-8 bytes; the executor refuses a mismatch. */
  readonly scriptHash: string;
  readonly summary: NodeFirewallSummary;
  /**
   * Ids of the shared AddressSets the script declares (v2), sorted; absent
   * means none. The executor watches exactly these sets' slices.
   */
  readonly addressSets?: readonly string[];
}

/**
 * Packets counted on one local pod's chains, by direction and verdict, as
 * read from the kernel's counters (they restart from 0 when the script is
 * reloaded). Same shape as `PodCounters` in src/nft/ruleset.ts.
 */
export interface NodeFirewallPodCounters {
  /** New-connection packets that matched an allow rule of the pod's ingress chain. */
  readonly ingressAllowed: number;
  /** Packets dropped at the end of the pod's ingress chain. */
  readonly ingressDenied: number;
  /** New-connection packets that matched an allow rule of the pod's egress chain. */
  readonly egressAllowed: number;
  /** Packets dropped at the end of the pod's egress chain. */
  readonly egressDenied: number;
}

/** `status.counters`: per isolated local pod (`namespace/name`), its packet counts. */
export type NodeFirewallCounters = Readonly<Record<string, NodeFirewallPodCounters>>;

/** Observed state, written by the executor through the status subresource. */
export interface NodeFirewallStatus {
  /** `metadata.generation` of the spec this status describes. */
  readonly observedGeneration?: number;
  /** `scriptHash` of the script currently in the kernel. */
  readonly appliedHash?: string;
  /** RFC 3339 time of the last successful `nft -f`. */
  readonly lastAppliedTime?: string;
  /** `nft --version` output on the node, e.g. `v1.0.6 (Lester Gooch #5)`. */
  readonly nftVersion?: string;
  /** metav1.Condition list, one per type (list-map keyed by `type`). */
  readonly conditions?: readonly Condition[];
  /**
   * Packet counts per isolated local pod, written at most every
   * `--counters-interval-ms` and only when they changed.
   */
  readonly counters?: NodeFirewallCounters;
}

/** Owner reference as stored in `metadata.ownerReferences`. */
export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

/**
 * The metadata fields nftpol reads or writes on a NodeFirewall. Kept
 * assignable to client-node's V1ObjectMeta so a NodeFirewall is a
 * `KubernetesObject` (informers, ListWatch): hence the mutable
 * `ownerReferences` array and no `creationTimestamp` (a string in JSON, a
 * `Date` in client-node's type).
 */
export interface NodeFirewallMetadata {
  readonly name: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly ownerReferences?: OwnerReference[];
}

/** A NodeFirewall object as it travels over the API (JSON, not client-node classes). */
export interface NodeFirewall {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: typeof KIND;
  readonly metadata: NodeFirewallMetadata;
  readonly spec: NodeFirewallSpec;
  readonly status?: NodeFirewallStatus;
}
