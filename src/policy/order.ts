/**
 * The one ordering of text the pure core and its consumers sort by: plain
 * code-unit order, independent of locale (so the rendered script, and its
 * hash, is the same on every machine).
 */

/** Negative, zero or positive as `a` sorts before, with or after `b` (code-unit order). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
