/**
 * Self-healing: every `driftIntervalMs` the executor reads `table inet
 * nftpol` back and compares it with the reference it read right after its
 * own apply. Anything else changing our table — an operator's `nft delete
 * rule`, a `flush ruleset`, another agent — is drift; the executor reloads
 * the script and reports `InSync=False/Drifted` then `True/Repaired`.
 *
 * Only our table is read; other tables are never listed, compared or
 * touched, so a foreign table added next to ours is not drift.
 *
 * The same read also yields the deny-path counters for /metrics, so one nft
 * call per interval serves both.
 */
import { listTable, type NftOptions } from '../nft/apply.js';
import {
  diffTables,
  parseRuleset,
  summarizeDiff,
  type NormalizedTable,
  type ParsedRuleset,
  type TableDiff,
} from '../nft/ruleset.js';

/** The result of one check. */
export interface DriftCheck {
  /** The live table as read (null table: absent). */
  readonly live: ParsedRuleset;
  /** What differs from the reference, or null when in sync. */
  readonly diff: TableDiff | null;
  /** One line for logs and conditions; empty when in sync. */
  readonly summary: string;
}

/**
 * Reads the live table and compares it with `reference`.
 * @throws NftError when nft cannot list the table (other than "absent").
 */
export async function checkDrift(reference: NormalizedTable, nft: NftOptions): Promise<DriftCheck> {
  const live = parseRuleset(await listTable(nft));
  const diff = diffTables(reference, live.table);
  return { live, diff, summary: diff === null ? '' : summarizeDiff(diff) };
}

/** A periodic trigger; `stop()` ends it. Timers are unref'd: they never keep the process alive. */
export interface Ticker {
  stop(): void;
}

/** Calls `tick` every `intervalMs` (not overlapping: the next interval starts after `tick` settles). */
export function startTicker(intervalMs: number, tick: () => Promise<void>): Ticker {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      tick().then(schedule, schedule);
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return {
    stop: () => {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
    },
  };
}
