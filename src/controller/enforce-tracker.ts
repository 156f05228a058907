/**
 * Time to enforce, per policy: from a NetworkPolicy change seen by the
 * controller to the moment every node that must enforce the policy reports
 * the new script applied — observed into
 * `nftpol_controller_policy_enforce_seconds`.
 *
 * It rides on the informers the controller already runs: a wrapper around
 * the model sink sees policy changes (a change is a policy whose model
 * differs from the last one seen, so relists and resyncs start nothing), and
 * the NodeFirewall informer keeps, per node, its script hash, the policies
 * the script carries and what the executor reports (`status.appliedHash`,
 * `Applied`). A pending change completes when:
 *
 *  1. the engine and publisher are idle (the change has been rendered and
 *     written wherever it mattered);
 *  2. every NodeFirewall the informer shows has the hash the engine last
 *     rendered for it (the informer caught up with those writes), so the
 *     nodes whose summary names the policy are exactly the ones that must
 *     enforce it now;
 *  3. each of them has `status.appliedHash == spec.scriptHash` and
 *     `Applied=True`.
 *
 * The duration is measured on the controller's clock, from the first change
 * not yet enforced (later changes before then do not restart it) to the
 * check that finds all three true, so it includes the executors' status
 * writes and the watch delay, as an operator waiting for it would see. A
 * change that leaves the policy on no node (deleted, or selecting no pod)
 * is dropped without an observation. Only the leader tracks.
 */
import { createHash } from 'node:crypto';
import type { Histogram } from 'prom-client';
import { unrefTimer, type Clock } from '../telemetry/clock.js';
import type { ModelSink, NodeFirewallObservation } from './informers.js';

/** What the tracker needs from the rest of the controller. */
export interface EnforceTrackerDeps {
  readonly clock: Clock;
  readonly histogram: Histogram;
  /** True while this replica renders and writes (leader, informers synced). */
  readonly isActive: () => boolean;
  /** No node waits to be rendered or written. */
  readonly isIdle: () => boolean;
  /** The hash the engine last rendered for `node`. */
  readonly desiredHash: (node: string) => string | undefined;
  /** Called with each observation (tests, logs). */
  readonly onEnforced?: (policy: string, seconds: number) => void;
  /** A scheduled check threw (it is dropped; the next event schedules another). */
  readonly onError?: (err: unknown) => void;
}

/**
 * Delay of a re-check while the engine is busy or the informer lags: a
 * change that alters no script produces no NodeFirewall event to wake the
 * tracker, so it looks again by itself. Bounds the measurement error.
 */
const RECHECK_MS = 50;

/** Tracks pending policy changes until every node enforcing them has applied them. */
export class EnforceTracker {
  private readonly deps: EnforceTrackerDeps;
  private readonly nodes = new Map<string, NodeFirewallObservation>();
  /** policy → controller time (ms) of its first change not yet enforced. */
  private readonly pending = new Map<string, number>();
  /** policy → fingerprint of its model, to tell a change from a relist. */
  private readonly seen = new Map<string, string>();
  private scheduled: unknown = null;

  constructor(deps: EnforceTrackerDeps) {
    this.deps = deps;
  }

  /** Policies whose change is not yet enforced everywhere. */
  get pendingPolicies(): readonly string[] {
    return [...this.pending.keys()].sort();
  }

  /**
   * A sink that passes everything to `inner` and also feeds the tracker:
   * policy changes, and what the informer observed of each NodeFirewall.
   */
  wrap(inner: ModelSink): ModelSink {
    return {
      ...inner,
      policy: (ref, policy, problems) => {
        inner.policy(ref, policy, problems);
        const key = `${ref.namespace}/${ref.name}`;
        const print = policy === null ? null : fingerprint(policy);
        const before = this.seen.get(key);
        if (print === null) this.seen.delete(key);
        else this.seen.set(key, print);
        if ((before ?? null) !== print) this.policyChanged(key);
      },
      nodeFirewall: (ref, observed) => {
        inner.nodeFirewall(ref, observed);
        if (observed === null) this.nodes.delete(ref.name);
        else this.nodes.set(ref.name, observed);
        this.schedule();
      },
    };
  }

  /** Records a change of `policy` (namespace/name) now, unless one is already pending. */
  policyChanged(policy: string): void {
    if (!this.deps.isActive()) return;
    if (!this.pending.has(policy)) this.pending.set(policy, this.deps.clock.now());
    this.schedule();
  }

  /** Checks pending changes now; returns the policies observed. */
  check(): string[] {
    if (this.pending.size === 0) return [];
    if (!this.deps.isActive()) {
      this.pending.clear();
      return [];
    }
    if (!this.deps.isIdle()) return this.retry();
    const carriers = new Map<string, NodeFirewallObservation[]>();
    for (const [name, node] of this.nodes) {
      if (this.deps.desiredHash(name) !== node.fingerprint) return this.retry(); // informer behind
      for (const p of node.policyNames) {
        if (!this.pending.has(p)) continue;
        const list = carriers.get(p) ?? [];
        list.push(node);
        carriers.set(p, list);
      }
    }
    const now = this.deps.clock.now();
    const done: string[] = [];
    for (const [policy, since] of this.pending) {
      const nodes = carriers.get(policy);
      if (nodes === undefined) {
        this.pending.delete(policy); // on no node: nothing to enforce
        continue;
      }
      if (nodes.every((n) => n.applied && n.appliedHash === n.fingerprint)) {
        const seconds = Math.max(0, now - since) / 1000;
        this.deps.histogram.observe(seconds);
        this.deps.onEnforced?.(policy, seconds);
        this.pending.delete(policy);
        done.push(policy);
      }
    }
    return done;
  }

  /** Cancels the scheduled check. */
  stop(): void {
    if (this.scheduled !== null) this.deps.clock.clearTimer(this.scheduled);
    this.scheduled = null;
  }

  /**
   * One check per burst of events (a watch delivers status updates in
   * bursts), or after `delayMs` when the last check found the controller busy.
   */
  private schedule(delayMs = 0): void {
    if (this.scheduled !== null || this.pending.size === 0) return;
    this.scheduled = this.deps.clock.setTimer(() => {
      this.scheduled = null;
      try {
        this.check();
      } catch (err) {
        try {
          this.deps.onError?.(err);
        } catch {
          // Nowhere left to report to; the timer must not throw.
        }
      }
    }, delayMs);
    unrefTimer(this.scheduled);
  }

  /** Not decidable yet (busy, or the informer behind the writes): look again shortly. */
  private retry(): string[] {
    this.schedule(RECHECK_MS);
    return [];
  }
}

function fingerprint(value: unknown): string {
  return createHash('sha1').update(JSON.stringify(value)).digest('base64');
}
