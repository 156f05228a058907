/**
 * Content names for nft sets and short-hashed names for long chains. A set is
 * named after what it holds, so two rules (or two pods) needing the same
 * elements share one rendered set, and a set's name changes exactly when its
 * content does — which keeps scripts small and their diffs meaningful.
 * node:crypto's hash is pure computation (no I/O), allowed in the core.
 */
import { createHash } from 'node:crypto';
import type { Family } from './model.js';
import type { SetElement, SetKind } from './plan.js';

/** Length of the hex digest kept in generated names (64 bits). */
export const NAME_HASH_HEX = 16;

/**
 * `<kind><4|6|''>_<16 hex of sha256 of the canonical content>`, e.g.
 * `addrPort4_0123456789abcdef`, `port_…` for family-independent port sets.
 * `elements` must already be in their canonical (sorted, disjoint) order.
 */
export function nameSet(
  kind: SetKind,
  family: Family | null,
  elements: readonly SetElement[],
): string {
  const suffix = family === 'ip' ? '4' : family === 'ip6' ? '6' : '';
  return `${kind}${suffix}_${shortHash(canonicalSetContent(kind, family, elements))}`;
}

/**
 * The text a set's name is hashed from: kind, family, then one line per
 * element (`first-last proto first-last`, absent fields empty).
 */
export function canonicalSetContent(
  kind: SetKind,
  family: Family | null,
  elements: readonly SetElement[],
): string {
  const lines = elements.map((e) =>
    [
      e.addr ? `${e.addr.first}-${e.addr.last}` : '',
      e.protocol ?? '',
      e.port ? `${e.port.first}-${e.port.last}` : '',
    ].join(' '),
  );
  return [`${kind} ${family ?? 'any'}`, ...lines].join('\n');
}

/** First {@link NAME_HASH_HEX} hex digits of the sha256 of `text` (UTF-8). */
export function shortHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, NAME_HASH_HEX);
}

/**
 * `name` when it has at most `max` characters; otherwise its first
 * characters, `_` and {@link shortHash} of the whole name, `max` long in all.
 * Distinct inputs stay distinct as long as they contain no `_<16 hex>` tail of
 * exactly `max` characters (Kubernetes names contain no `_`).
 */
export function shortenName(name: string, max: number): string {
  if (name.length <= max) return name;
  return `${name.slice(0, max - NAME_HASH_HEX - 1)}_${shortHash(name)}`;
}
