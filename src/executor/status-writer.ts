/**
 * Writing the NodeFirewall status: the whole status each time (computed by
 * status.ts from the reconciler's view), skipped when it would not change
 * what the API has, sent as a merge patch of the status subresource, and
 * retried with back-off when the API refuses or cannot be reached. The
 * conditions of the last write are the base of the next (the watch cache
 * lags right after a write), so a transition time moves only when a
 * condition's status does.
 */
import type { Condition } from '../k8s/conditions.js';
import { errorText, statusCode } from '../k8s/errors.js';
import type {
  NodeFirewall,
  NodeFirewallCounters,
  NodeFirewallStatus,
} from '../k8s/nodefirewall.js';
import type { PatchNodeFirewallStatus } from '../k8s/nodefirewall-status.js';
import type { Logger } from '../telemetry/log.js';
import type { Backoff } from './backoff.js';
import type { ExecutorEvent } from './events.js';
import type { LiveCounters } from './live-counters.js';
import { statusFor, type Outcome, type StatusFacts } from './status.js';

/** What {@link StatusWriter} needs. */
export interface StatusWriterDeps {
  readonly patch: PatchNodeFirewallStatus;
  readonly counters: LiveCounters;
  /** Delay before the pass that retries a failed write. */
  readonly backoff: Backoff;
  /** Asks for a pass after `ms` milliseconds (the retry). */
  readonly retryAfter: (ms: number) => void;
  readonly log: Logger;
  readonly emit: (event: ExecutorEvent) => void;
}

/** The facts of a status besides the outcome, the generation and the previous conditions. */
export type WriteFacts = Omit<StatusFacts, 'generation' | 'previous'>;

/** Writes one NodeFirewall's status, remembering what it last wrote. */
export class StatusWriter {
  private readonly deps: StatusWriterDeps;
  /** Conditions as last written (newer than the watch cache right after a write). */
  private conditions: readonly Condition[] | null = null;
  private lastWritten: string | null = null;

  constructor(deps: StatusWriterDeps) {
    this.deps = deps;
  }

  /** A new object (another uid): start again from its own conditions. */
  forget(): void {
    this.conditions = null;
    this.lastWritten = null;
  }

  /**
   * Computes the status of `object` for `outcome` and writes it unless it is
   * what was last written or what the object has. Never throws: a failure is
   * logged, emitted and retried by a later pass; a 404 (deleted meanwhile) is
   * left to the watch.
   */
  async write(object: NodeFirewall, outcome: Outcome, facts: WriteFacts): Promise<void> {
    const { counters, log, emit } = this.deps;
    this.conditions ??= object.status?.conditions ?? [];
    const reported = counters.countersToReport(object.status?.counters);
    const computed = statusFor(outcome, {
      ...facts,
      generation: object.metadata.generation ?? 0,
      previous: this.conditions,
    });
    const status: NodeFirewallStatus =
      reported === undefined ? computed : { ...computed, counters: reported };
    const text = JSON.stringify(status);
    if (text === this.lastWritten || text === JSON.stringify(object.status ?? null)) {
      this.conditions = status.conditions ?? [];
      return;
    }
    try {
      await this.deps.patch(object.metadata.name, {
        status: withRemovedCounters(status, object.status?.counters),
      });
      counters.markReported(reported);
      this.conditions = status.conditions ?? [];
      this.lastWritten = text;
      this.deps.backoff.reset();
      log.debug({ generation: status.observedGeneration }, 'wrote status');
      emit({ kind: 'statusWritten', status });
    } catch (err) {
      if (statusCode(err) === 404) return; // deleted meanwhile; the watch will say so
      const wait = this.deps.backoff.nextDelayMs();
      log.warn({ err: errorText(err), retryInMs: wait }, 'failed to write status; will retry');
      emit({ kind: 'statusFailed', error: errorText(err) });
      this.deps.retryAfter(wait);
    }
  }
}

/**
 * The status as a merge patch: a pod gone from the counters is set to null,
 * since a JSON merge patch keeps every key it does not mention.
 */
export function withRemovedCounters(
  status: NodeFirewallStatus,
  before: NodeFirewallCounters | undefined,
): unknown {
  if (status.counters === undefined || before === undefined) return status;
  const gone = Object.keys(before).filter((pod) => !(pod in (status.counters ?? {})));
  if (gone.length === 0) return status;
  return {
    ...status,
    counters: { ...status.counters, ...Object.fromEntries(gone.map((pod) => [pod, null])) },
  };
}
