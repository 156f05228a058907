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
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Histogram } from 'prom-client';
import type { Clock } from '../telemetry/clock.js';
import type { ModelSink } from './informers.js';

/** What the tracker keeps of one NodeFirewall. */
export interface NodeEnforcement {
  readonly scriptHash: string;
  /** `spec.summary.policyNames`. */
  readonly policyNames: readonly string[];
  /** `status.appliedHash`, or null. */
  readonly appliedHash: string | null;
  /** The `Applied` condition is True. */
  readonly applied: boolean;
}

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

type Json = Record<string, unknown>;

/**
 * Delay of a re-check while the engine is busy or the informer lags: a
 * change that alters no script produces no NodeFirewall event to wake the
 * tracker, so it looks again by itself. Bounds the measurement error.
 */
const RECHECK_MS = 50;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null;

/**
 * The fields of a NodeFirewall the tracker reads, to be kept by the
 * informer's strip (which otherwise keeps only the hash): policy names,
 * applied hash and the Applied condition's status.
 */
export function enforcementFieldsOf(obj: unknown): {
  readonly policyNames: readonly string[];
  readonly status: { readonly appliedHash?: string; readonly applied: boolean };
} {
  const spec = isObject(obj) && isObject(obj['spec']) ? obj['spec'] : {};
  const summary = isObject(spec['summary']) ? spec['summary'] : {};
  const names = Array.isArray(summary['policyNames'])
    ? summary['policyNames'].filter((n): n is string => typeof n === 'string')
    : [];
  const status = isObject(obj) && isObject(obj['status']) ? obj['status'] : {};
  const conditions = Array.isArray(status['conditions']) ? status['conditions'] : [];
  const applied = conditions.some(
    (c) => isObject(c) && c['type'] === 'Applied' && c['status'] === 'True',
  );
  const hash = status['appliedHash'];
  return {
    policyNames: names,
    status: typeof hash === 'string' ? { appliedHash: hash, applied } : { applied },
  };
}

/** Reads back what {@link enforcementFieldsOf} kept on a stripped object. */
export function enforcementOf(stripped: KubernetesObject): NodeEnforcement {
  const o = stripped as unknown as Json;
  const spec = isObject(o['spec']) ? o['spec'] : {};
  const status = isObject(o['status']) ? o['status'] : {};
  const names = spec['policyNames'];
  return {
    scriptHash: typeof spec['scriptHash'] === 'string' ? spec['scriptHash'] : '',
    policyNames: Array.isArray(names) ? (names as string[]) : [],
    appliedHash: typeof status['appliedHash'] === 'string' ? status['appliedHash'] : null,
    applied: status['applied'] === true,
  };
}

/** Tracks pending policy changes until every node enforcing them has applied them. */
export class EnforceTracker {
  private readonly deps: EnforceTrackerDeps;
  private readonly nodes = new Map<string, NodeEnforcement>();
  /** policy → controller time (ms) of its first change not yet enforced. */
  private readonly pending = new Map<string, number>();
  /** policy → fingerprint of its model, to tell a change from a relist. */
  private readonly seen = new Map<string, string>();
  private scheduled: ReturnType<typeof setTimeout> | null = null;

  constructor(deps: EnforceTrackerDeps) {
    this.deps = deps;
  }

  /** Policies whose change is not yet enforced everywhere. */
  get pendingPolicies(): readonly string[] {
    return [...this.pending.keys()].sort();
  }

  /**
   * A sink that passes everything to `inner` and also feeds the tracker:
   * policy changes, and NodeFirewalls (read from the stripped object the
   * informer hands over through `nodeFirewall`'s `object` argument).
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
      nodeFirewall: (ref, fingerprintOrNull, object) => {
        inner.nodeFirewall(ref, fingerprintOrNull, object);
        if (fingerprintOrNull === null || object === undefined) this.nodes.delete(ref.name);
        else this.nodes.set(ref.name, enforcementOf(object));
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
    const carriers = new Map<string, NodeEnforcement[]>();
    for (const [name, node] of this.nodes) {
      if (this.deps.desiredHash(name) !== node.scriptHash) return this.retry(); // informer behind
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
      if (nodes.every((n) => n.applied && n.appliedHash === n.scriptHash)) {
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
    if (this.scheduled !== null) clearTimeout(this.scheduled);
    this.scheduled = null;
  }

  /**
   * One check per burst of events (a watch delivers status updates in
   * bursts), or after `delayMs` when the last check found the controller busy.
   */
  private schedule(delayMs = 0): void {
    if (this.scheduled !== null || this.pending.size === 0) return;
    this.scheduled = setTimeout(() => {
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
    this.scheduled.unref();
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
