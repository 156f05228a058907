/**
 * The text and JSON forms of `nftpol status`: the rows that status-report.ts
 * computes, printed as kubectl-style tables (with a line per failing and
 * pending node) or as JSON. Kept apart from the computation so that the
 * report model is tested as data and the printing as text.
 *
 * PURE: formats what it is given.
 */
import type { NodeStatusRow, PolicyStatus } from './status-report.js';

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

/**
 * The policy table, then one line per failing node (`policy: node: Reason:
 * message`) and per pending node.
 */
export function formatPolicyStatusText(rows: readonly PolicyStatus[]): string {
  if (rows.length === 0) return 'No NetworkPolicies found.\n';
  const body = table(
    ['POLICY', 'STATE', 'IN FORCE', 'FAILING', 'SINCE', 'TIME TO ENFORCE'],
    rows.map((r) => [
      r.policy,
      r.state,
      `${r.enforcing.length}/${r.mustEnforce.length}`,
      String(r.failing.length),
      r.since ?? '-',
      formatDuration(r.timeToEnforceSeconds),
    ]),
  );
  const details = rows.flatMap((r) => [
    ...r.failing.map((f) => `${r.policy}: failing on ${f.node}: ${f.reason}: ${f.message}`),
    ...(r.pending.length > 0 ? [`${r.policy}: pending on ${r.pending.join(', ')}`] : []),
  ]);
  return details.length === 0 ? body : `${body}\n${details.join('\n')}\n`;
}

/** The node table: NAME APPLIED INSYNC READY HASH PODS RULES AGE (of the last apply). */
export function formatNodeStatusText(rows: readonly NodeStatusRow[]): string {
  if (rows.length === 0) return 'No NodeFirewalls found.\n';
  return table(
    ['NAME', 'APPLIED', 'INSYNC', 'READY', 'HASH', 'PODS', 'RULES', 'AGE'],
    rows.map((r) => [
      r.node,
      r.applied === 'False' && r.appliedReason !== null ? `False (${r.appliedReason})` : r.applied,
      r.inSync,
      r.ready,
      r.current || r.hash === '-' ? r.hash : `${r.hash} (old)`,
      r.pods === null ? '-' : String(r.pods),
      r.rules === null ? '-' : String(r.rules),
      formatAge(r.ageSeconds),
    ]),
  );
}

/** Rows as pretty JSON, `{"policies": [...]}` or `{"nodes": [...]}`, newline-terminated. */
export function formatStatusJson(
  report:
    { readonly policies: readonly PolicyStatus[] } | { readonly nodes: readonly NodeStatusRow[] },
): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
