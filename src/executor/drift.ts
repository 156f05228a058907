/**
 * Self-healing: every `driftIntervalMs` the executor reads `table inet
 * nftpol` back and compares it with the reference it read right after its
 * own apply — and the shared sets' elements with the members it loaded
 * since (deltas are not read back). Anything else changing our table — an operator's `nft delete
 * rule`, a `flush ruleset`, another agent — is drift; the executor reloads
 * the script and reports `InSync=False/Drifted` then `True/Repaired`.
 *
 * Only our table is read; other tables are never listed, compared or
 * touched, so a foreign table added next to ours is not drift. The same read
 * also yields the counters (live-counters.ts), so one nft call per interval
 * serves both.
 *
 * This file holds the comparison ({@link driftSummaryOf}, pure) and the
 * periodic trigger ({@link startTicker}, on the injected clock); the
 * reconciler runs the read and the repair.
 */
import { unrefTimer, type Clock } from '../telemetry/clock.js';
import type { NormalizedTable } from '../nft/ruleset.js';
import { diffTables, summarizeDiff } from '../nft/table-diff.js';

/**
 * What drifted, in one line for logs and conditions, or null when the live
 * table (null: absent) equals `reference` — the shared sets named in
 * `elements` holding exactly those elements (member text; what was last
 * loaded into them, by a full load or a delta). Pure.
 */
export function driftSummaryOf(
  reference: NormalizedTable,
  live: NormalizedTable | null,
  elements: ReadonlyMap<string, readonly string[]> = new Map(),
): string | null {
  const diff = diffTables(reference, live, elements);
  return diff === null ? null : summarizeDiff(diff);
}

/** A periodic trigger; `stop()` ends it. Timers are unref'd: they never keep the process alive. */
export interface Ticker {
  stop(): void;
}

/** Calls `tick` every `intervalMs` (not overlapping: the next interval starts after `tick` settles). */
export function startTicker(clock: Clock, intervalMs: number, tick: () => Promise<void>): Ticker {
  let stopped = false;
  let timer: unknown = null;
  const schedule = (): void => {
    if (stopped) return;
    timer = clock.setTimer(() => {
      timer = null;
      tick().then(schedule, schedule);
    }, intervalMs);
    unrefTimer(timer);
  };
  schedule();
  return {
    stop: () => {
      stopped = true;
      if (timer !== null) clock.clearTimer(timer);
    },
  };
}
