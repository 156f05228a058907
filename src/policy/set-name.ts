/**
 * Short hashes for generated names: shared set ids (peer-sets.ts hashes a
 * peer's identity) and chain names too long for nft. node:crypto's hash is
 * pure computation (no I/O), allowed in the core.
 */
import { createHash } from 'node:crypto';

/** Length of the hex digest kept in generated names (64 bits). */
export const NAME_HASH_HEX = 16;

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
