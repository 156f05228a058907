/**
 * The computation behind `nftpol status`: NodeFirewalls, NetworkPolicies and
 * ClusterNetworkPolicies as the API returns them (plain JSON) → one row per
 * policy (where it must be in force, where it is, since when, where it fails
 * and why) or per node (its conditions at a glance). status-format.ts prints the rows. Kept apart
 * from the command so that every case — in force everywhere, failing on one
 * node, never applied — is a table row in a unit test, without an API server.
 *
 * Definitions (docs/observability.md explains them to users):
 *  - a node MUST enforce a policy when its NodeFirewall's
 *    `spec.summary.policyNames` lists it (the controller put the policy's
 *    rules into that node's script);
 *  - a node ENFORCES it when `status.appliedHash == spec.scriptHash` and the
 *    `Applied` condition is True: the kernel holds the current script;
 *  - a node is FAILING when `Applied` is False for the current generation
 *    (reason and the message's first line are shown); otherwise it is
 *    PENDING (never applied, or still applying an older script);
 *  - SINCE is the latest `lastAppliedTime` among the nodes that must enforce
 *    it, once all of them do: the policy has been in force everywhere no
 *    later than that. (A later apply for another reason moves it forward, so
 *    it is an upper bound.)
 *  - the policy's last CHANGE is the latest `metadata.managedFields[].time`
 *    (the API server stamps it at every write that changes a manager's
 *    fields), or `creationTimestamp` when there are none. TIME TO ENFORCE is
 *    SINCE minus that change; null when it would be negative (the last change,
 *    e.g. of a label, altered no node's script) or unknown.
 *
 * A ClusterNetworkPolicy is the same, under its output name `cnp:<name>`
 * (policyNames lists it for every node where its rules gave a pod chain
 * lines), with its tier and priority; its rows come in evaluation order
 * (Admin, then Baseline; priority, then name). Its CRD is optional and
 * listing it may be forbidden: {@link LiveClusterPolicies} says which, and
 * NetworkPolicies are reported either way.
 *
 * Per node, besides its conditions (`SetsReady` among them: the shared sets
 * its rules name have all arrived), the number of those sets
 * (`spec.addressSets`) and, when the AddressSets could be read, the ones
 * that have no slice at all — what an operator looks for when SetsReady is
 * False (live-sets.ts).
 *
 * PURE: the caller passes `now` (node ages only).
 */
import { clusterPolicyName } from '../policy/model.js';
import { compareText } from '../policy/order.js';
import { missingSetsOf, slicesBySet, type LiveSets } from './live-sets.js';

/** The parts of a NetworkPolicy read here. */
export interface PolicyObject {
  readonly metadata?: {
    readonly namespace?: string;
    readonly name?: string;
    readonly creationTimestamp?: string | Date;
    readonly managedFields?: readonly { readonly time?: string | Date }[];
  };
}

/** The parts of a ClusterNetworkPolicy read here (cluster-scoped: no namespace). */
export interface ClusterPolicyObject extends PolicyObject {
  readonly spec?: { readonly tier?: string; readonly priority?: number };
}

/**
 * The ClusterNetworkPolicies as listed, or why they could not be: their CRD
 * is not installed (404) or the user may not list them (403).
 */
export type LiveClusterPolicies =
  | { readonly kind: 'listed'; readonly items: readonly ClusterPolicyObject[] }
  | { readonly kind: 'unreadable'; readonly why: string };

/** The prefix of a ClusterNetworkPolicy's output name (`cnp:<name>`), never in a NetworkPolicy's. */
export const CLUSTER_POLICY_PREFIX = clusterPolicyName({ name: '' });

/** Whether `name` (a policyNames entry or a typed POLICY) names a ClusterNetworkPolicy. */
export function isClusterPolicyKey(name: string): boolean {
  return name.startsWith(CLUSTER_POLICY_PREFIX);
}

/** The parts of a condition read here. */
export interface ConditionObject {
  readonly type?: string;
  readonly status?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly observedGeneration?: number;
}

/** The parts of a NodeFirewall read here. */
export interface NodeFirewallObject {
  readonly metadata?: { readonly name?: string; readonly generation?: number };
  readonly spec?: {
    readonly scriptHash?: string;
    /** Ids of the shared AddressSets the script names (v2); absent: none. */
    readonly addressSets?: readonly string[];
    readonly summary?: {
      readonly localPods?: number;
      readonly rules?: number;
      readonly policyNames?: readonly string[];
    };
  };
  readonly status?: {
    readonly appliedHash?: string;
    readonly lastAppliedTime?: string;
    readonly conditions?: readonly ConditionObject[];
    readonly counters?: Readonly<Record<string, unknown>>;
  };
}

/** Where one node stands with its current script. */
export type NodeState =
  | { readonly kind: 'enforcing'; readonly since: string | null }
  | { readonly kind: 'failing'; readonly reason: string; readonly message: string }
  | { readonly kind: 'pending'; readonly why: string };

/** A node that must enforce a policy but fails to apply its script. */
export interface FailingNode {
  readonly node: string;
  readonly reason: string;
  /** First line of the Applied condition's message. */
  readonly message: string;
}

/** Overall verdict for one policy. */
export type PolicyState =
  /** Every node that must enforce it does. */
  | 'Enforced'
  /** Some node fails to apply the script that carries it. */
  | 'Failing'
  /** Some node has not applied it yet, none fails. */
  | 'Pending'
  /** It selects no pod on any node: nothing to enforce. */
  | 'NoPods'
  /** It is in some node's script but no longer exists (deleted, not yet re-rendered). */
  | 'Deleted';

/** One row of `nftpol status`. */
export interface PolicyStatus {
  /** `namespace/name`. */
  readonly policy: string;
  readonly state: PolicyState;
  /** Nodes whose script carries the policy, sorted. */
  readonly mustEnforce: readonly string[];
  /** Nodes among those that have that script in force, sorted. */
  readonly enforcing: readonly string[];
  /** Nodes among those that have not applied it yet and report no failure, sorted. */
  readonly pending: readonly string[];
  readonly failing: readonly FailingNode[];
  /** The policy's last change (RFC 3339), or null when unknown. */
  readonly changedAt: string | null;
  /** Where `changedAt` came from. */
  readonly changedFrom: 'managedFields' | 'creationTimestamp' | null;
  /** In force on every node that must enforce it no later than this; null unless Enforced. */
  readonly since: string | null;
  /** `since - changedAt` in seconds; null when unknown or negative. */
  readonly timeToEnforceSeconds: number | null;
}

/** One ClusterNetworkPolicy row of `nftpol status`; `policy` is `cnp:<name>`. */
export interface ClusterPolicyStatus extends PolicyStatus {
  /** `spec.tier` (`Admin` or `Baseline`); null when unknown (Deleted). */
  readonly tier: string | null;
  /** `spec.priority` (0–1000, lower first within the tier); null when unknown (Deleted). */
  readonly priority: number | null;
}

/** Whether `status` could read the ClusterNetworkPolicies, as its JSON says. */
export type ClusterPoliciesRead =
  | { readonly readable: true; readonly items: number }
  | { readonly readable: false; readonly why: string };

/** One row of `nftpol status nodes`. */
export interface NodeStatusRow {
  readonly node: string;
  /** Status of the condition (`True`, `False`, `Unknown`), or `-` when absent. */
  readonly applied: string;
  readonly appliedReason: string | null;
  readonly inSync: string;
  /** Status of `SetsReady`, or `-` when absent (an executor from before v2). */
  readonly setsReady: string;
  readonly setsReadyReason: string | null;
  /** First line of SetsReady's message, or null when absent. */
  readonly setsReadyMessage: string | null;
  readonly ready: string;
  /** First 12 hex digits of `status.appliedHash`, or `-`. */
  readonly hash: string;
  /** True when the applied hash is the desired one. */
  readonly current: boolean;
  readonly pods: number | null;
  readonly rules: number | null;
  /** Shared sets the node's rules name (`spec.addressSets.length`; absent: 0). */
  readonly sets: number;
  /**
   * Those sets with no AddressSet slice at all, in `spec.addressSets` order;
   * null when the AddressSets were not read.
   */
  readonly missingSets: readonly string[] | null;
  readonly lastAppliedTime: string | null;
  /** Seconds since `lastAppliedTime`, or null. */
  readonly ageSeconds: number | null;
}

/** What to report on. */
export interface StatusFilter {
  /** Only NetworkPolicies of this namespace (ClusterNetworkPolicies are cluster-scoped). */
  readonly namespace?: string;
  /**
   * Only this policy: a NetworkPolicy's name within `namespace`, or
   * `namespace/name`; or a ClusterNetworkPolicy's `cnp:<name>`.
   */
  readonly policy?: string;
}

const conditionOf = (nf: NodeFirewallObject, type: string): ConditionObject | undefined =>
  nf.status?.conditions?.find((c) => c.type === type);

const firstLine = (text: string): string => text.trim().split('\n')[0] ?? '';

const toIso = (v: string | Date | undefined): string | null => {
  if (v === undefined) return null;
  const d = typeof v === 'string' ? new Date(v) : v;
  return Number.isNaN(d.getTime()) ? null : d.toISOString().replace(/\.000Z$/, 'Z');
};

/** Where a node stands with its current script; see the file header. */
export function nodeStateOf(nf: NodeFirewallObject): NodeState {
  const applied = conditionOf(nf, 'Applied');
  const desired = nf.spec?.scriptHash;
  const inForce = desired !== undefined && nf.status?.appliedHash === desired;
  if (inForce && applied?.status === 'True') {
    return { kind: 'enforcing', since: nf.status?.lastAppliedTime ?? null };
  }
  const generation = nf.metadata?.generation;
  const current =
    applied?.observedGeneration === undefined ||
    generation === undefined ||
    applied.observedGeneration >= generation;
  if (applied?.status === 'False' && current) {
    return {
      kind: 'failing',
      reason: applied.reason ?? 'Unknown',
      message: firstLine(applied.message ?? ''),
    };
  }
  if (nf.status?.appliedHash === undefined) return { kind: 'pending', why: 'never applied' };
  return { kind: 'pending', why: 'an older script is in force' };
}

/**
 * The time of a policy's last change: the latest `managedFields[].time`,
 * else `creationTimestamp`.
 */
export function changeTimeOf(policy: PolicyObject): {
  readonly at: string | null;
  readonly from: 'managedFields' | 'creationTimestamp' | null;
} {
  const times = (policy.metadata?.managedFields ?? [])
    .map((f) => toIso(f.time))
    .filter((t): t is string => t !== null)
    .sort();
  const latest = times[times.length - 1];
  if (latest !== undefined) return { at: latest, from: 'managedFields' };
  const created = toIso(policy.metadata?.creationTimestamp);
  return created === null ? { at: null, from: null } : { at: created, from: 'creationTimestamp' };
}

function keyOf(policy: PolicyObject): string {
  return `${policy.metadata?.namespace ?? ''}/${policy.metadata?.name ?? ''}`;
}

function wanted(key: string, filter: StatusFilter): boolean {
  const slash = key.indexOf('/');
  const ns = key.slice(0, slash);
  const name = key.slice(slash + 1);
  if (filter.namespace !== undefined && ns !== filter.namespace) return false;
  if (filter.policy === undefined) return true;
  return filter.policy.includes('/') ? filter.policy === key : filter.policy === name;
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The NodeFirewalls whose `spec.summary.policyNames` lists each name. */
function carriersOf(
  nodeFirewalls: readonly NodeFirewallObject[],
): Map<string, NodeFirewallObject[]> {
  const carriers = new Map<string, NodeFirewallObject[]>();
  for (const nf of nodeFirewalls) {
    for (const name of nf.spec?.summary?.policyNames ?? []) {
      const list = carriers.get(name) ?? [];
      list.push(nf);
      carriers.set(name, list);
    }
  }
  return carriers;
}

/**
 * One row per policy: every NetworkPolicy that passes `filter`, plus every
 * policy still named in a node's script though the object is gone. Sorted by
 * `namespace/name`. ClusterNetworkPolicies: {@link clusterPolicyStatusOf}.
 */
export function policyStatusOf(
  nodeFirewalls: readonly NodeFirewallObject[],
  policies: readonly PolicyObject[],
  filter: StatusFilter = {},
): PolicyStatus[] {
  const objects = new Map(policies.map((p) => [keyOf(p), p]));
  const carriers = carriersOf(nodeFirewalls);
  const keys = [...new Set([...objects.keys(), ...carriers.keys()])]
    .filter((k) => !isClusterPolicyKey(k) && wanted(k, filter))
    .sort(byName);
  return keys.map((key) => rowOf(key, objects.get(key), carriers.get(key) ?? []));
}

/**
 * One row per ClusterNetworkPolicy (`cnp:<name>`): every listed one, plus
 * every one still named in a node's script though the object is gone; only
 * the one `filter.policy` names when it names one, none when it names a
 * NetworkPolicy (`filter.namespace` does not apply). In evaluation order:
 * Admin, then Baseline, each by priority, then name; Deleted ones (tier
 * unknown) last. None when they could not be read.
 */
export function clusterPolicyStatusOf(
  nodeFirewalls: readonly NodeFirewallObject[],
  clusterPolicies: LiveClusterPolicies,
  filter: StatusFilter = {},
): ClusterPolicyStatus[] {
  if (clusterPolicies.kind === 'unreadable') return [];
  if (filter.policy !== undefined && !isClusterPolicyKey(filter.policy)) return [];
  const objects = new Map(
    clusterPolicies.items.map((p) => [clusterPolicyName({ name: p.metadata?.name ?? '' }), p]),
  );
  const carriers = carriersOf(nodeFirewalls);
  const keys = [...new Set([...objects.keys(), ...carriers.keys()])].filter(
    (k) => isClusterPolicyKey(k) && (filter.policy === undefined || filter.policy === k),
  );
  const rows = keys.map((key): ClusterPolicyStatus => {
    const object = objects.get(key);
    const tier = object?.spec?.tier;
    const priority = object?.spec?.priority;
    return {
      ...rowOf(key, object, carriers.get(key) ?? []),
      tier: typeof tier === 'string' ? tier : null,
      priority: typeof priority === 'number' ? priority : null,
    };
  });
  const tierRank = (tier: string | null): number =>
    tier === 'Admin' ? 0 : tier === 'Baseline' ? 1 : 2;
  return rows.sort(
    (a, b) =>
      tierRank(a.tier) - tierRank(b.tier) ||
      (a.priority ?? Infinity) - (b.priority ?? Infinity) ||
      compareText(a.policy, b.policy),
  );
}

/** {@link ClusterPoliciesRead} of what was listed. */
export function clusterPoliciesReadOf(clusterPolicies: LiveClusterPolicies): ClusterPoliciesRead {
  return clusterPolicies.kind === 'listed'
    ? { readable: true, items: clusterPolicies.items.length }
    : { readable: false, why: clusterPolicies.why };
}

/** The row of the policy named `key`, from its object (undefined: gone) and the nodes naming it. */
function rowOf(
  key: string,
  object: PolicyObject | undefined,
  carriers: readonly NodeFirewallObject[],
): PolicyStatus {
  const nodes = [...carriers].sort((a, b) =>
    byName(a.metadata?.name ?? '', b.metadata?.name ?? ''),
  );
  const enforcing: string[] = [];
  const pending: string[] = [];
  const failing: FailingNode[] = [];
  const times: string[] = [];
  for (const nf of nodes) {
    const node = nf.metadata?.name ?? '';
    const state = nodeStateOf(nf);
    if (state.kind === 'enforcing') {
      enforcing.push(node);
      if (state.since !== null) times.push(state.since);
    } else if (state.kind === 'failing') {
      failing.push({ node, reason: state.reason, message: state.message });
    } else {
      pending.push(node);
    }
  }
  const change = object === undefined ? { at: null, from: null } : changeTimeOf(object);
  const state: PolicyState =
    object === undefined
      ? 'Deleted'
      : nodes.length === 0
        ? 'NoPods'
        : failing.length > 0
          ? 'Failing'
          : pending.length > 0
            ? 'Pending'
            : 'Enforced';
  const allIn = nodes.length > 0 && enforcing.length === nodes.length;
  const since =
    allIn && times.length === nodes.length
      ? (toIso(times.sort((a, b) => Date.parse(a) - Date.parse(b))[times.length - 1]) ?? null)
      : null;
  const delta =
    since !== null && change.at !== null
      ? (Date.parse(since) - Date.parse(change.at)) / 1000
      : null;
  return {
    policy: key,
    state,
    mustEnforce: nodes.map((n) => n.metadata?.name ?? ''),
    enforcing,
    pending,
    failing,
    changedAt: change.at,
    changedFrom: change.from,
    since,
    timeToEnforceSeconds: delta !== null && delta >= 0 ? delta : null,
  };
}

/**
 * One row per NodeFirewall, sorted by node name. `sets`: the AddressSets as
 * listed (null or unreadable: `missingSets` is null).
 */
export function nodeStatusOf(
  nodeFirewalls: readonly NodeFirewallObject[],
  now: Date,
  sets: LiveSets | null = null,
): NodeStatusRow[] {
  const bySet = sets?.kind === 'listed' ? slicesBySet(sets.slices) : null;
  return [...nodeFirewalls]
    .sort((a, b) => byName(a.metadata?.name ?? '', b.metadata?.name ?? ''))
    .map((nf) => {
      const status = (type: string): string => conditionOf(nf, type)?.status ?? '-';
      const applied = nf.status?.appliedHash;
      const last = nf.status?.lastAppliedTime ?? null;
      const lastMs = last === null ? NaN : Date.parse(last);
      const setsReady = conditionOf(nf, 'SetsReady');
      const named = nf.spec?.addressSets ?? [];
      return {
        node: nf.metadata?.name ?? '',
        applied: status('Applied'),
        appliedReason: conditionOf(nf, 'Applied')?.reason ?? null,
        inSync: status('InSync'),
        setsReady: status('SetsReady'),
        setsReadyReason: setsReady?.reason ?? null,
        setsReadyMessage: setsReady?.message === undefined ? null : firstLine(setsReady.message),
        ready: status('Ready'),
        hash: applied === undefined ? '-' : applied.replace(/^sha256:/, '').slice(0, 12),
        current: applied !== undefined && applied === nf.spec?.scriptHash,
        pods: nf.spec?.summary?.localPods ?? null,
        rules: nf.spec?.summary?.rules ?? null,
        sets: named.length,
        missingSets: bySet === null ? null : missingSetsOf(named, bySet),
        lastAppliedTime: last,
        ageSeconds: Number.isNaN(lastMs) ? null : Math.max(0, (now.getTime() - lastMs) / 1000),
      };
    });
}

/** Whether `status nodes` could read the AddressSets, as its JSON says. */
export type AddressSetsRead =
  | { readonly readable: true; readonly slices: number }
  | { readonly readable: false; readonly why: string };

/** {@link AddressSetsRead} of what was listed. */
export function addressSetsReadOf(sets: LiveSets): AddressSetsRead {
  return sets.kind === 'listed'
    ? { readable: true, slices: sets.slices.length }
    : { readable: false, why: sets.why };
}
