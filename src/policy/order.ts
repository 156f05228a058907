/**
 * The one ordering of text the pure core and its consumers sort by: plain
 * code-unit order, independent of locale (so the rendered script, and its
 * hash, is the same on every machine), and the evaluation order of
 * ClusterNetworkPolicies that translate and the oracle both follow.
 */

/** Negative, zero or positive as `a` sorts before, with or after `b` (code-unit order). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * ClusterNetworkPolicies in evaluation order: the Admin tier before the
 * Baseline tier, then by priority (lower first), then by name — the API
 * leaves equal priorities unordered; the name makes the order total.
 */
export function sortClusterPolicies<T extends { tier: string; priority: number; name: string }>(
  cnps: readonly T[],
): T[] {
  const tier = (p: T): number => (p.tier === 'Admin' ? 0 : 1);
  return [...cnps].sort(
    (a, b) => tier(a) - tier(b) || a.priority - b.priority || compareText(a.name, b.name),
  );
}
