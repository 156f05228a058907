/**
 * The live table's counters: read back with every pass (the drift check's
 * read), exported as metrics at once, and put in `status.counters` at most
 * every `countersIntervalMs` and only when they changed — traffic must not
 * turn into a stream of API writes.
 *
 * {@link LiveCounters.read} is the executor's one read of its table; the
 * reconciler takes the normalized table from it for adoption and drift.
 */
import type { NodeFirewallCounters } from '../k8s/nodefirewall.js';
import { errorText } from '../k8s/errors.js';
import {
  attributeCounters,
  denyCountsOf,
  podCountersOf,
  policyCountersOf,
} from '../nft/counters.js';
import { parseRuleset, type ParsedRuleset } from '../nft/ruleset.js';
import type { Clock } from '../telemetry/clock.js';
import type { Logger } from '../telemetry/log.js';
import type { ExecutorMetrics } from '../telemetry/metrics.js';
import type { NodeTable } from './node-table.js';
import { TIMER_SLACK_MS } from './node-state.js';

/** What {@link LiveCounters} needs. */
export interface LiveCountersDeps {
  readonly table: NodeTable;
  readonly metrics: ExecutorMetrics;
  readonly clock: Clock;
  readonly log: Logger;
  /** Least time between two reports of changed counters, in milliseconds. */
  readonly countersIntervalMs: number;
}

/** The counters as last read, and as last reported in a status. */
export class LiveCounters {
  private readonly deps: LiveCountersDeps;
  /** Per-pod counters as last read; null before a table exists. */
  private live: NodeFirewallCounters | null = null;
  private reported: { readonly counters: NodeFirewallCounters; readonly at: number } | null = null;

  constructor(deps: LiveCountersDeps) {
    this.deps = deps;
  }

  /**
   * Reads the live table, updates the deny and allow packet metrics and the
   * per-pod counters.
   * @returns the parsed table, or null when it could not be read (logged).
   */
  async read(): Promise<ParsedRuleset | null> {
    const { metrics } = this.deps;
    try {
      const live = parseRuleset(await this.deps.table.list());
      metrics.denyPackets.reset();
      for (const d of denyCountsOf(live.counters)) {
        metrics.denyPackets.inc({ pod: d.pod, direction: d.direction }, d.packets);
      }
      const counts = attributeCounters(live.counters);
      metrics.allowedPackets.reset();
      for (const p of policyCountersOf(counts)) {
        metrics.allowedPackets.inc({ policy: p.policy, direction: p.direction }, p.packets);
      }
      // No table (not applied yet): nothing to report rather than an empty map.
      this.live = live.table === null ? null : podCountersOf(counts);
      return live;
    } catch (err) {
      this.deps.log.warn({ err: errorText(err) }, 'failed to read the live table');
      return null;
    }
  }

  /**
   * The counters to put in the next status: the live ones when they changed
   * and `countersIntervalMs` passed since they were last reported, else the
   * ones last reported (so an unchanged status is not rewritten for counts).
   *
   * @param inObject `status.counters` of the object as the watch has it.
   */
  countersToReport(inObject: NodeFirewallCounters | undefined): NodeFirewallCounters | undefined {
    const previous = this.reported?.counters ?? inObject;
    if (this.live === null) return previous;
    const due =
      this.reported === null ||
      this.deps.clock.now() + TIMER_SLACK_MS >= this.reported.at + this.deps.countersIntervalMs;
    if (!due || JSON.stringify(this.live) === JSON.stringify(previous)) return previous;
    return this.live;
  }

  /** Records that `counters` (from {@link countersToReport}) reached the API. */
  markReported(counters: NodeFirewallCounters | undefined): void {
    if (counters !== undefined && counters !== this.reported?.counters) {
      this.reported = { counters, at: this.deps.clock.now() };
    }
  }
}
