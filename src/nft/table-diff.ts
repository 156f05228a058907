/**
 * Drift: how a live table differs from the reference the executor read right
 * after its own apply, both normalized by ruleset.ts, and the one-line
 * summary that goes to logs and the InSync condition.
 *
 * The members of shared peer sets (v2) change between full loads, by
 * element deltas that are not read back: for those sets the caller passes
 * the elements it loaded (compose.ts composeElements), and the live
 * elements are compared with them, as member text (live-members.ts),
 * instead of with the reference's.
 *
 * PURE: no I/O.
 */
import { memberOfElement } from './live-members.js';
import type { NormalizedTable } from './ruleset.js';

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
 * @param elements the elements expected in some sets by nft set name, as
 *   member text (the shared sets and what was last loaded into them): those
 *   sets' live elements are compared with these, not with the reference's.
 *   A set named here keeps its definition compared with the reference.
 * @returns null when they are equal (no drift), else what differs.
 */
export function diffTables(
  reference: NormalizedTable,
  live: NormalizedTable | null,
  elements: ReadonlyMap<string, readonly string[]> = new Map(),
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
    if (a.definition !== b.definition) return true;
    const expected = elements.get(n);
    if (expected !== undefined) return !sameMembers(expected, b.elements);
    return (
      a.elements.length !== b.elements.length || a.elements.some((e, i) => b.elements[i] !== e)
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

/** Whether the live elements (nft JSON) are exactly the members `expected` (deduplicated). */
function sameMembers(expected: readonly string[], live: readonly string[]): boolean {
  if (expected.length !== live.length) return false;
  const have = new Set(live.map(memberOfElement));
  return have.size === live.length && expected.every((m) => have.has(m));
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
