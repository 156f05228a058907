/**
 * Read-back of the live table: `nft -j list table inet nftpol` → a
 * normalized table (what the ruleset *is*, without what merely changes while
 * it runs) and the rule counters (what it *did*).
 *
 * Why normalize: the kernel reports handles, which differ on every load, and
 * counters, which move with traffic. Neither is drift. Everything else —
 * chains and their hooks, rules and their order, sets and maps with their
 * elements — is compared. The executor keeps the normalized form read right
 * after its own apply as the reference, so both sides of the comparison come
 * from the same nft printer and no script-vs-JSON equivalence is needed.
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

/** How a live table differs from the reference; every list sorted. */
export interface TableDiff {
  /** The live table is gone altogether. */
  readonly tableMissing: boolean;
  readonly chainsAdded: readonly string[];
  readonly chainsRemoved: readonly string[];
  /** Chains present in both whose hook/priority/policy differ. */
  readonly chainsChanged: readonly string[];
  /** Per chain present in both: rules only in live (added) or only in the reference (removed). */
  readonly rules: readonly {
    readonly chain: string;
    readonly added: number;
    readonly removed: number;
    readonly reordered: boolean;
  }[];
  readonly setsAdded: readonly string[];
  readonly setsRemoved: readonly string[];
  /** Sets and maps present in both whose definition or elements differ. */
  readonly setsChanged: readonly string[];
}

/**
 * Compares `live` against `reference`.
 * @returns null when they are equal (no drift), else what differs.
 */
export function diffTables(
  reference: NormalizedTable,
  live: NormalizedTable | null,
): TableDiff | null {
  if (live === null) {
    return {
      tableMissing: true,
      chainsAdded: [],
      chainsRemoved: Object.keys(reference.chains).sort(),
      chainsChanged: [],
      rules: [],
      setsAdded: [],
      setsRemoved: Object.keys(reference.sets).sort(),
      setsChanged: [],
    };
  }
  const [chainsAdded, chainsRemoved, chainsBoth] = split(reference.chains, live.chains);
  const [setsAdded, setsRemoved, setsBoth] = split(reference.sets, live.sets);
  const chainsChanged = chainsBoth.filter(
    (n) => reference.chains[n]?.base !== live.chains[n]?.base,
  );
  const rules = chainsBoth.flatMap((name) => {
    const want = reference.chains[name]?.rules ?? [];
    const have = live.chains[name]?.rules ?? [];
    const added = multisetMinus(have, want);
    const removed = multisetMinus(want, have);
    const reordered = added === 0 && removed === 0 && want.some((r, i) => have[i] !== r);
    return added > 0 || removed > 0 || reordered
      ? [{ chain: name, added, removed, reordered }]
      : [];
  });
  const setsChanged = setsBoth.filter((n) => {
    const a = reference.sets[n];
    const b = live.sets[n];
    if (a === undefined || b === undefined) return true;
    return (
      a.definition !== b.definition ||
      a.elements.length !== b.elements.length ||
      a.elements.some((e, i) => b.elements[i] !== e)
    );
  });
  const differs =
    chainsAdded.length + chainsRemoved.length + chainsChanged.length + rules.length > 0 ||
    setsAdded.length + setsRemoved.length + setsChanged.length > 0;
  return differs
    ? {
        tableMissing: false,
        chainsAdded,
        chainsRemoved,
        chainsChanged,
        rules,
        setsAdded,
        setsRemoved,
        setsChanged,
      }
    : null;
}

/** One line saying what drifted, for logs and condition messages. */
export function summarizeDiff(diff: TableDiff): string {
  if (diff.tableMissing) return 'table inet nftpol is missing';
  const parts: string[] = [];
  const list = (label: string, names: readonly string[]): void => {
    if (names.length > 0) parts.push(`${label} ${names.join(', ')}`);
  };
  list('chains added:', diff.chainsAdded);
  list('chains removed:', diff.chainsRemoved);
  list('chains changed:', diff.chainsChanged);
  for (const r of diff.rules) {
    const what = [
      r.added > 0 ? `${r.added} added` : '',
      r.removed > 0 ? `${r.removed} removed` : '',
      r.reordered ? 'reordered' : '',
    ].filter((s) => s !== '');
    parts.push(`rules in ${r.chain}: ${what.join(', ')}`);
  }
  list('sets added:', diff.setsAdded);
  list('sets removed:', diff.setsRemoved);
  list('sets changed:', diff.setsChanged);
  return parts.join('; ');
}

/** Packets dropped on one pod's deny path in one direction. */
export interface DenyCount {
  /** `namespace/pod`. */
  readonly pod: string;
  readonly direction: 'ingress' | 'egress';
  readonly packets: number;
  readonly bytes: number;
}

const DENY_COMMENT = /^(\S+\/\S+) (ingress|egress) denied$/;

/**
 * The deny-path counters: rules commented `<ns>/<pod> <direction> denied`
 * (render's final `counter drop` of each pod chain), summed per pod and direction.
 */
export function denyCountsOf(counters: readonly RuleCounter[]): DenyCount[] {
  const byKey = new Map<string, DenyCount>();
  for (const c of counters) {
    const m = c.comment === null ? null : DENY_COMMENT.exec(c.comment);
    if (m === null) continue;
    const pod = m[1] ?? '';
    const direction = m[2] === 'egress' ? 'egress' : 'ingress';
    const key = `${pod} ${direction}`;
    const prev = byKey.get(key);
    byKey.set(key, {
      pod,
      direction,
      packets: (prev?.packets ?? 0) + c.packets,
      bytes: (prev?.bytes ?? 0) + c.bytes,
    });
  }
  return [...byKey.values()].sort((a, b) =>
    a.pod === b.pod ? a.direction.localeCompare(b.direction) : a.pod.localeCompare(b.pod),
  );
}

function split<T>(
  a: Readonly<Record<string, T>>,
  b: Readonly<Record<string, T>>,
): [added: string[], removed: string[], both: string[]] {
  const inA = Object.keys(a);
  const inB = Object.keys(b);
  return [
    inB.filter((n) => !(n in a)).sort(),
    inA.filter((n) => !(n in b)).sort(),
    inA.filter((n) => n in b).sort(),
  ];
}

/** How many items of `a` are not matched by an equal item of `b` (multiset difference). */
function multisetMinus(a: readonly string[], b: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const x of b) counts.set(x, (counts.get(x) ?? 0) + 1);
  let missing = 0;
  for (const x of a) {
    const n = counts.get(x) ?? 0;
    if (n > 0) counts.set(x, n - 1);
    else missing += 1;
  }
  return missing;
}

// ------------------------------------------------------------ counters by pod and policy
//
// An allow line's comment names its policy and rule but not the pod; the pod
// is named by the deny line that ends every pod chain (`<ns>/<pod>
// <direction> denied`). So the table alone maps every counter back to pod,
// direction and (for allows) policy and rule, whatever the chain is called
// (`in_<ns>_<pod>` or a hashed name for long ones). A pod name cut to fit
// nft's 128-byte comment keeps its `…` and is reported as cut.

/** Which way a counted rule sent the packet. */
export type CountedVerdict = 'allowed' | 'denied';

/** One counted rule of a pod chain, attributed to its pod and direction. */
export interface RuleCount {
  /** The chain holding the rule. */
  readonly chain: string;
  /** `namespace/pod` from the chain's deny comment; null when the chain has none. */
  readonly pod: string | null;
  readonly direction: 'ingress' | 'egress';
  readonly verdict: CountedVerdict;
  /** `namespace/name` of the policy, for an allow; null for the deny line. */
  readonly policy: string | null;
  /** Index of the rule in the policy's ingress or egress list, for an allow; else null. */
  readonly rule: number | null;
  readonly packets: number;
  readonly bytes: number;
}

const ALLOW_COMMENT = /^(\S+\/\S+) (ingress|egress) rule (\d+)$/;

/**
 * Every pod-chain counter in `json` (`nft -j list table inet nftpol`), in
 * chain and rule order, attributed to pod, direction, verdict and policy.
 * Counters of the base chains (fail-closed drops) and of uncommented rules are
 * left out. An allow rule rendered once per address family gives two rows
 * with the same policy and rule: sum them with {@link podCountersOf} or
 * {@link policyCountersOf}.
 *
 * @throws RulesetParseError as {@link parseRuleset}.
 */
export function countersOf(json: unknown): RuleCount[] {
  return attributeCounters(parseRuleset(json).counters);
}

/** {@link countersOf} on counters already parsed by {@link parseRuleset}. */
export function attributeCounters(counters: readonly RuleCounter[]): RuleCount[] {
  const podOfChain = new Map<string, { pod: string; direction: 'ingress' | 'egress' }>();
  for (const c of counters) {
    const m = c.comment === null ? null : DENY_COMMENT.exec(c.comment);
    if (m !== null) {
      podOfChain.set(c.chain, {
        pod: m[1] ?? '',
        direction: m[2] === 'egress' ? 'egress' : 'ingress',
      });
    }
  }
  const out: RuleCount[] = [];
  for (const c of counters) {
    if (c.comment === null) continue;
    const owner = podOfChain.get(c.chain);
    const deny = DENY_COMMENT.exec(c.comment);
    if (deny !== null && owner !== undefined) {
      out.push({
        chain: c.chain,
        pod: owner.pod,
        direction: owner.direction,
        verdict: 'denied',
        policy: null,
        rule: null,
        packets: c.packets,
        bytes: c.bytes,
      });
      continue;
    }
    const allow = ALLOW_COMMENT.exec(c.comment);
    if (allow === null) continue;
    out.push({
      chain: c.chain,
      pod: owner?.pod ?? null,
      direction: allow[2] === 'egress' ? 'egress' : 'ingress',
      verdict: 'allowed',
      policy: allow[1] ?? '',
      rule: Number(allow[3]),
      packets: c.packets,
      bytes: c.bytes,
    });
  }
  return out;
}

/**
 * Packets counted for one local pod, by direction and verdict: the compact
 * shape of `NodeFirewall.status.counters["<ns>/<pod>"]`. Allowed packets are
 * new connections' packets that matched an allow rule of the pod's chain
 * (replies pass `ct state established` before any pod chain and are not
 * counted); denied packets hit the chain's final drop.
 */
export interface PodCounters {
  readonly ingressAllowed: number;
  readonly ingressDenied: number;
  readonly egressAllowed: number;
  readonly egressDenied: number;
}

/** Per `namespace/pod`, the sums of its counters; keys sorted. Rows without a pod are left out. */
export function podCountersOf(counts: readonly RuleCount[]): Record<string, PodCounters> {
  const sums = new Map<string, PodCounters>();
  for (const c of counts) {
    if (c.pod === null) continue;
    const prev = sums.get(c.pod) ?? {
      ingressAllowed: 0,
      ingressDenied: 0,
      egressAllowed: 0,
      egressDenied: 0,
    };
    const key = `${c.direction}${c.verdict === 'allowed' ? 'Allowed' : 'Denied'}` as const;
    sums.set(c.pod, { ...prev, [key]: prev[key] + c.packets });
  }
  return Object.fromEntries([...sums.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Packets allowed by one policy in one direction, summed over its rules and the node's pods. */
export interface PolicyCount {
  /** `namespace/name`. */
  readonly policy: string;
  readonly direction: 'ingress' | 'egress';
  readonly packets: number;
}

/** The allow counters summed per policy and direction, sorted by policy then direction. */
export function policyCountersOf(counts: readonly RuleCount[]): PolicyCount[] {
  const sums = new Map<string, PolicyCount>();
  for (const c of counts) {
    if (c.verdict !== 'allowed' || c.policy === null) continue;
    const key = `${c.policy} ${c.direction}`;
    const prev = sums.get(key);
    sums.set(key, {
      policy: c.policy,
      direction: c.direction,
      packets: (prev?.packets ?? 0) + c.packets,
    });
  }
  return [...sums.values()].sort((a, b) =>
    a.policy === b.policy ? a.direction.localeCompare(b.direction) : a.policy < b.policy ? -1 : 1,
  );
}
