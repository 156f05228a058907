/**
 * Read-back of the live table: `nft -j list table inet nftpol` → a
 * normalized table (what the ruleset *is*, without what merely changes while
 * it runs) and the raw rule counters (what it *did*).
 *
 * Why normalize: the kernel reports handles, which differ on every load, and
 * counters, which move with traffic. Neither is drift. Everything else —
 * chains and their hooks, rules and their order, sets and maps with their
 * elements — is compared (table-diff.ts). The executor keeps the normalized
 * form read right after its own apply as the reference, so both sides of the
 * comparison come from the same nft printer and no script-vs-JSON
 * equivalence is needed. The counters are attributed to pods and policies in
 * counters.ts.
 *
 * PURE: no I/O; takes the parsed JSON document.
 */

/** One base or regular chain, normalized. */
export interface NormalizedChain {
  /** `type/hook/prio/policy` of a base chain as canonical JSON, or null for a regular chain. */
  readonly base: string | null;
  /** Rules in order, each as canonical JSON with counters zeroed and handles dropped. */
  readonly rules: readonly string[];
}

/** One set or map, normalized. */
export interface NormalizedSet {
  /** Type, flags, map data type etc. as canonical JSON (no handle, no elements). */
  readonly definition: string;
  /** Elements as canonical JSON, sorted. */
  readonly elements: readonly string[];
}

/** The parts of a table that define its behaviour. */
export interface NormalizedTable {
  readonly chains: Readonly<Record<string, NormalizedChain>>;
  /** Sets and maps by name (one namespace in nft). */
  readonly sets: Readonly<Record<string, NormalizedSet>>;
}

/** A rule's counter, as read. */
export interface RuleCounter {
  readonly chain: string;
  /** The rule's comment, or null when it has none. */
  readonly comment: string | null;
  readonly packets: number;
  readonly bytes: number;
}

/** The result of {@link parseRuleset}. */
export interface ParsedRuleset {
  /** The table, or null when the document held none (table absent). */
  readonly table: NormalizedTable | null;
  /** Every rule counter in chain and rule order. */
  readonly counters: readonly RuleCounter[];
}

/** A document that is not `nft -j` output of the expected shape. */
export class RulesetParseError extends Error {
  override readonly name = 'RulesetParseError';
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Set fields that are not part of its definition: elements are compared apart, the rest is implied. */
const SET_VOLATILE_KEYS = new Set(['elem', 'handle', 'family', 'table']);

const isObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses nft's JSON listing of one table.
 *
 * - `null` (what `listTable` returns for an absent table) gives `table: null`.
 * - `handle` keys are dropped everywhere; `counter` statements become
 *   `{"counter":null}` in the rule text and their figures go to `counters`.
 * - Set elements are sorted, so element order in the listing does not matter.
 *
 * @throws RulesetParseError when `json` is not `{ nftables: [...] }` or an
 *   object in it lacks the fields nft always prints (names, chain of a rule).
 */
export function parseRuleset(json: unknown): ParsedRuleset {
  if (json === null) return { table: null, counters: [] };
  if (!isObject(json) || !Array.isArray(json['nftables'])) {
    throw new RulesetParseError('expected nft -j output: an object with an "nftables" array');
  }
  let sawTable = false;
  const chains: Record<string, { base: string | null; rules: string[] }> = {};
  const sets: Record<string, NormalizedSet> = {};
  const counters: RuleCounter[] = [];
  const chainOf = (name: string): { base: string | null; rules: string[] } =>
    (chains[name] ??= { base: null, rules: [] });

  for (const entry of json['nftables']) {
    if (!isObject(entry)) throw new RulesetParseError('expected an object in "nftables"');
    const [kind, body] = Object.entries(entry)[0] ?? [];
    if (kind === undefined || !isObject(body)) continue;
    switch (kind) {
      case 'table':
        sawTable = true;
        break;
      case 'chain': {
        const name = requireString(body, 'name', 'chain');
        const { type, hook, prio, policy } = body;
        chainOf(name).base =
          hook === undefined ? null : canonical({ type, hook, prio, policy } as JsonObject);
        break;
      }
      case 'set':
      case 'map': {
        const name = requireString(body, 'name', kind);
        const elem = body['elem'];
        const definition = Object.fromEntries(
          Object.entries(body).filter(([key]) => !SET_VOLATILE_KEYS.has(key)),
        );
        const elements = Array.isArray(elem) ? elem.map((e) => canonical(e)).sort() : [];
        sets[name] = { definition: canonical({ kind, ...definition }), elements };
        break;
      }
      case 'rule': {
        const chain = requireString(body, 'chain', 'rule');
        const comment = typeof body['comment'] === 'string' ? body['comment'] : null;
        const expr = Array.isArray(body['expr']) ? body['expr'] : [];
        const normalized = expr.map((statement) => {
          if (isObject(statement) && 'counter' in statement) {
            const c = statement['counter'];
            counters.push({
              chain,
              comment,
              packets: isObject(c) && typeof c['packets'] === 'number' ? c['packets'] : 0,
              bytes: isObject(c) && typeof c['bytes'] === 'number' ? c['bytes'] : 0,
            });
            return { counter: null };
          }
          return statement;
        });
        chainOf(chain).rules.push(canonical({ expr: normalized, comment }));
        break;
      }
      default:
        break; // metainfo, and objects nftpol never renders (flowtables, quotas…)
    }
  }
  return { table: sawTable ? { chains, sets } : null, counters };
}

function requireString(body: JsonObject, key: string, what: string): string {
  const v = body[key];
  if (typeof v !== 'string') throw new RulesetParseError(`${what} without a "${key}"`);
  return v;
}

/** JSON with object keys sorted and `handle` dropped, so equal content gives equal text. */
function canonical(value: Json): string {
  const walk = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(walk);
    if (!isObject(v)) return v;
    const out: JsonObject = {};
    for (const key of Object.keys(v).sort()) {
      const item = v[key];
      if (key === 'handle' || item === undefined) continue;
      out[key] = walk(item);
    }
    return out;
  };
  return JSON.stringify(walk(value));
}
