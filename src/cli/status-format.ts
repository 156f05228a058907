/**
 * The text and JSON forms of `nftpol status`: the rows that status-report.ts
 * computes, printed as kubectl-style tables (ClusterNetworkPolicies, then
 * NetworkPolicies, with a line per failing and pending node; nodes, with a
 * line per node with SetsReady False or sets missing) or as JSON. Kept apart from the computation so that the report model is tested
 * as data and the printing as text.
 *
 * PURE: formats what it is given.
 */
import { unreadableLine, type LiveSets } from './live-sets.js';
import type {
  AddressSetsRead,
  ClusterPoliciesRead,
  ClusterPolicyStatus,
  LiveClusterPolicies,
  NodeStatusRow,
  PolicyStatus,
} from './status-report.js';

/** A duration the way kubectl prints ages: `45s`, `12m`, `3h`, `5d`; `-` for null. */
export function formatAge(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 60) return `${Math.floor(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

/**
 * A time to enforce: `<1s`, `2.4s`, `3m12s`; `-` for null. API timestamps
 * have whole seconds, so anything under one second is `<1s`.
 */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 1) return '<1s';
  if (seconds < 60) return `${(Math.round(seconds * 10) / 10).toString()}s`;
  const m = Math.floor(seconds / 60);
  return `${m}m${Math.round(seconds - m * 60)}s`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [header, ...rows].map(line).join('\n') + '\n';
}

const IN_FORCE_HEADER = ['STATE', 'IN FORCE', 'FAILING', 'SINCE', 'TIME TO ENFORCE'];

function inForceCells(r: PolicyStatus): string[] {
  return [
    r.state,
    `${r.enforcing.length}/${r.mustEnforce.length}`,
    String(r.failing.length),
    r.since ?? '-',
    formatDuration(r.timeToEnforceSeconds),
  ];
}

/**
 * The one line saying ClusterNetworkPolicies could not be read, or null when
 * they were (or were not asked for).
 */
export function clusterPoliciesUnreadableLine(
  clusterPolicies: LiveClusterPolicies | null,
): string | null {
  return clusterPolicies?.kind === 'unreadable'
    ? `ClusterNetworkPolicies not read (${clusterPolicies.why}): only NetworkPolicies are shown`
    : null;
}

/**
 * The ClusterNetworkPolicy table (`cnp:<name>` with TIER and PRIORITY, in
 * the order given) when there are such rows, then the NetworkPolicy table;
 * then one line per failing node (`policy: failing on node: Reason:
 * message`) and per policy with pending nodes; then, when
 * `clusterPolicies` could not be read, one line saying so.
 */
export function formatPolicyStatusText(
  rows: readonly PolicyStatus[],
  clusterRows: readonly ClusterPolicyStatus[] = [],
  clusterPolicies: LiveClusterPolicies | null = null,
): string {
  const unreadable = clusterPoliciesUnreadableLine(clusterPolicies);
  if (rows.length === 0 && clusterRows.length === 0) {
    const none =
      clusterPolicies?.kind === 'listed'
        ? 'No NetworkPolicies or ClusterNetworkPolicies found.'
        : 'No NetworkPolicies found.';
    return `${none}\n${unreadable === null ? '' : `${unreadable}\n`}`;
  }
  const tables = [
    ...(clusterRows.length === 0
      ? []
      : [
          table(
            ['POLICY', 'TIER', 'PRIORITY', ...IN_FORCE_HEADER],
            clusterRows.map((r) => [
              r.policy,
              r.tier ?? '-',
              r.priority === null ? '-' : String(r.priority),
              ...inForceCells(r),
            ]),
          ),
        ]),
    ...(rows.length === 0
      ? []
      : [
          table(
            ['POLICY', ...IN_FORCE_HEADER],
            rows.map((r) => [r.policy, ...inForceCells(r)]),
          ),
        ]),
  ];
  const details = [...clusterRows, ...rows].flatMap((r) => [
    ...r.failing.map((f) => `${r.policy}: failing on ${f.node}: ${f.reason}: ${f.message}`),
    ...(r.pending.length > 0 ? [`${r.policy}: pending on ${r.pending.join(', ')}`] : []),
  ]);
  if (unreadable !== null) details.push(unreadable);
  const body = tables.join('\n');
  return details.length === 0 ? body : `${body}\n${details.join('\n')}\n`;
}

/** How many missing set ids a text line names before it counts the rest. */
export const MISSING_SHOWN = 5;

const withReason = (status: string, reason: string | null): string =>
  status === 'False' && reason !== null ? `False (${reason})` : status;

/**
 * The node table: NAME APPLIED INSYNC SETSREADY READY HASH PODS RULES SETS
 * AGE (of the last apply). Then, when `sets` could not be read, one line
 * saying so; per node whose SetsReady is False, its reason and message; and
 * per node naming sets with no slice at all, those sets (the first
 * {@link MISSING_SHOWN}, then how many more).
 */
export function formatNodeStatusText(
  rows: readonly NodeStatusRow[],
  sets: LiveSets | null = null,
): string {
  const unreadable = unreadableLine(sets, 'missing sets are not shown');
  if (rows.length === 0) {
    return `No NodeFirewalls found.\n${unreadable === null ? '' : `${unreadable}\n`}`;
  }
  const body = table(
    ['NAME', 'APPLIED', 'INSYNC', 'SETSREADY', 'READY', 'HASH', 'PODS', 'RULES', 'SETS', 'AGE'],
    rows.map((r) => [
      r.node,
      withReason(r.applied, r.appliedReason),
      r.inSync,
      withReason(r.setsReady, r.setsReadyReason),
      r.ready,
      r.current || r.hash === '-' ? r.hash : `${r.hash} (old)`,
      r.pods === null ? '-' : String(r.pods),
      r.rules === null ? '-' : String(r.rules),
      String(r.sets),
      formatAge(r.ageSeconds),
    ]),
  );
  const details = [
    ...(unreadable === null ? [] : [unreadable]),
    ...rows.flatMap((r) => [
      ...(r.setsReady === 'False'
        ? [
            `${r.node}: SetsReady False: ${r.setsReadyReason ?? 'Unknown'}: ${r.setsReadyMessage ?? ''}`,
          ]
        : []),
      ...(r.missingSets !== null && r.missingSets.length > 0
        ? [`${r.node}: missing sets: ${listMissing(r.missingSets)}`]
        : []),
    ]),
  ];
  return details.length === 0 ? body : `${body}\n${details.join('\n')}\n`;
}

function listMissing(ids: readonly string[]): string {
  if (ids.length <= MISSING_SHOWN) return ids.join(', ');
  return `${ids.slice(0, MISSING_SHOWN).join(', ')} and ${ids.length - MISSING_SHOWN} more (-o json lists all)`;
}

/**
 * Rows as pretty JSON, newline-terminated: `{"policies": [...],
 * "clusterPolicies": [...], "clusterPoliciesRead": {...}}` (the last absent
 * when ClusterNetworkPolicies were not asked for), or `{"nodes": [...],
 * "addressSets": {...}}`.
 */
export function formatStatusJson(
  report:
    | {
        readonly policies: readonly PolicyStatus[];
        readonly clusterPolicies?: readonly ClusterPolicyStatus[];
        readonly clusterPoliciesRead?: ClusterPoliciesRead;
      }
    | { readonly nodes: readonly NodeStatusRow[]; readonly addressSets: AddressSetsRead },
): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
