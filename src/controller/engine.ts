/**
 * The incremental engine: nodes marked dirty by the snapshot are rendered in
 * coalesced batches and handed to a sink (the publisher). Level-based: a mark
 * says only "look at this node again"; the render reads the snapshot as it
 * is when the batch runs, so ten events on one node cost one render.
 *
 * Coalescing: a batch runs `debounceMs` after the last mark, but never later
 * than `maxDelayMs` after the first mark of the batch, so a steady stream of
 * events cannot starve the writes. One batch runs at a time; marks made while
 * it runs go into the next one. The clock and timers are injected so tests
 * drive time by hand.
 *
 * Failure isolation: translate+render of one node may throw (a conflicting
 * object, a bug). That node is left out of the batch — nothing is written for
 * it, so its NodeFirewall keeps the last good script — and it is re-marked
 * after a doubling delay (`retryDelayMs` up to 32×, like failed writes), or
 * sooner by any event that marks it. The other nodes are published as usual.
 * No callback, sink or timer path lets an exception escape: each is caught
 * and reported through `onError`, and the engine keeps batching.
 *
 * No API calls here: the engine translates and renders, the sink writes.
 */
import { renderScript } from '../nft/render.js';
import type { Cluster } from '../policy/model.js';
import type { NodeFirewallSummary } from '../k8s/nodefirewall.js';
import { summarizePlan } from '../policy/plan.js';
import { translatorFor } from '../policy/translate.js';
import { boundCauses, MAX_CAUSES } from '../history/store.js';
import { SYSTEM_CLOCK, type Clock } from '../telemetry/clock.js';
import type { ClusterSnapshot } from './snapshot.js';

/** One node's rendered script. */
export interface RenderedNode {
  readonly node: string;
  readonly script: string;
  /** `sha256:<hex>` of the script. */
  readonly scriptHash: string;
  readonly summary: NodeFirewallSummary;
  /**
   * What marked the node dirty since its last render (`Kind namespace/name`,
   * `resync`), bounded by history/store.ts boundCauses; set by the engine.
   */
  readonly causes?: readonly string[];
}

/** What one batch asks the sink to do. */
export interface Batch {
  /** Scripts of dirty nodes that exist. */
  readonly rendered: readonly RenderedNode[];
  /** Dirty nodes that no longer exist: their NodeFirewall should go. */
  readonly removed: readonly string[];
}

/** Translates and renders one node of `cluster`. */
export type RenderNode = (cluster: Cluster, node: string) => RenderedNode;

/** Options of {@link Engine}. */
export interface EngineOptions {
  /** @default 100 */
  readonly debounceMs: number;
  /** @default 1000 */
  readonly maxDelayMs: number;
  /** @default SYSTEM_CLOCK */
  readonly clock?: Clock;
  /** @default translate + render, see {@link renderNodeWith} */
  readonly render?: RenderNode;
  /** Called after each batch with its duration and size (for metrics and logs). */
  readonly onBatchDone?: (info: { readonly durationMs: number; readonly nodes: number }) => void;
  /**
   * Called when the sink or a callback throws, or a batch fails outside any
   * one node's render; the batch's nodes are not retried by the engine.
   */
  readonly onError?: (err: unknown) => void;
  /**
   * Called when translating or rendering `node` throws. The node was left out
   * of the batch (it keeps its last written script) and will be re-marked
   * after `retryInMs`; `failures` counts its consecutive failed renders.
   */
  readonly onRenderError?: (failure: RenderFailure) => void;
  /**
   * First delay before a node whose render failed is rendered again; doubles
   * per consecutive failure, up to 32×. Must be > 0.
   * @default 1000
   */
  readonly retryDelayMs?: number;
}

/** One failed render, as reported to {@link EngineOptions.onRenderError}. */
export interface RenderFailure {
  readonly node: string;
  readonly error: unknown;
  /** Consecutive failed renders of this node, this one included (≥ 1). */
  readonly failures: number;
  /** When the engine renders the node again unless an event marks it sooner. */
  readonly retryInMs: number;
}

/**
 * The production render: translate, then renderScript, then the summary.
 * The translator is shared by every call made with the same Cluster object,
 * so a batch rendered against one snapshot indexes the cluster once; and as
 * one translator hands every plan the same NamedSet object for the same
 * content, a set shared by many nodes' scripts is written out once (the
 * render cache is keyed by those objects and forgets them with the plans).
 */
export function renderNodeWith(options: { readonly failClosed: boolean }): RenderNode {
  // A Cluster that cannot be indexed fails every node: remember the error so
  // that a batch of N nodes indexes it once, not N times.
  const translators = new WeakMap<
    Cluster,
    ReturnType<typeof translatorFor> | { readonly failed: unknown }
  >();
  return (cluster, node) => {
    let translate = translators.get(cluster);
    if (translate === undefined) {
      try {
        translate = translatorFor(cluster);
      } catch (err) {
        translate = { failed: err };
      }
      translators.set(cluster, translate);
    }
    if (typeof translate !== 'function') throw translate.failed;
    const plan = translate(node, { failClosed: options.failClosed });
    const { script, scriptHash } = renderScript(plan);
    return {
      node,
      script,
      scriptHash,
      summary: { ...summarizePlan(plan), policyNames: plan.policies },
    };
  };
}

/** Coalesces dirty marks into batches of rendered nodes. */
export class Engine {
  private readonly snapshot: ClusterSnapshot;
  private readonly options: EngineOptions;
  private readonly clock: Clock;
  private readonly render: RenderNode;
  private readonly sink: (batch: Batch) => Promise<void>;
  private dirty = new Set<string>();
  /** Why each dirty node is dirty (for the change history), at most MAX_CAUSES each. */
  private causes = new Map<string, { readonly set: Set<string>; more: number }>();
  private firstMarkAt = 0;
  private timer: unknown = null;
  private running: Promise<void> | null = null;
  private active = false;
  private inFlight = 0;
  private stopped = false;
  /** Hash last rendered per node (small; scripts are not kept). */
  private readonly hashes = new Map<string, string>();
  /** Consecutive failed renders per node, while it fails. */
  private readonly renderFailures = new Map<string, number>();
  /** Pending re-render of a node whose render failed. */
  private readonly retryTimers = new Map<string, unknown>();

  constructor(
    snapshot: ClusterSnapshot,
    options: EngineOptions,
    sink: (batch: Batch) => Promise<void>,
  ) {
    this.snapshot = snapshot;
    this.options = options;
    this.clock = options.clock ?? SYSTEM_CLOCK;
    this.render = options.render ?? renderNodeWith({ failClosed: false });
    this.sink = sink;
  }

  /** Nodes waiting for the next batch (plus the running batch's, while it runs). */
  get queueDepth(): number {
    return this.dirty.size + this.inFlight;
  }

  /**
   * The hash last rendered for `node`, if any. A node whose render fails
   * keeps the hash of its last successful render.
   */
  lastHash(node: string): string | undefined {
    return this.hashes.get(node);
  }

  /** Nodes whose last render failed (they keep their last good script), sorted. */
  failingNodes(): string[] {
    return [...this.renderFailures.keys()].sort();
  }

  /**
   * Turns batching on or off. While inactive (a follower, or before the
   * informers synced) marks are dropped: activation marks every node.
   */
  setActive(active: boolean, extra: Iterable<string> = []): void {
    if (this.active === active) return;
    this.active = active;
    if (!active) {
      this.cancelTimer();
      this.cancelRetries();
      this.dirty.clear();
      this.causes.clear();
      return;
    }
    this.markDirty([...this.snapshot.nodeNames(), ...extra], ['resync']);
  }

  /**
   * Marks nodes for re-render; schedules a batch.
   * @param causes what changed, recorded in the change history (`Pod shop/cart-0`).
   */
  markDirty(nodes: Iterable<string>, causes: Iterable<string> = []): void {
    if (!this.active || this.stopped) return;
    const before = this.dirty.size;
    const why = [...causes];
    let any = false;
    for (const n of nodes) {
      this.dirty.add(n);
      any = true;
      if (why.length > 0) this.addCauses(n, why);
    }
    if (!any) return;
    const now = this.clock.now();
    if (before === 0) this.firstMarkAt = now;
    this.schedule(now);
  }

  /** Runs a batch now with whatever is dirty (tests, shutdown). */
  async flush(): Promise<void> {
    this.cancelTimer();
    await this.runBatch();
  }

  /** Stops scheduling; waits for a running batch. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer();
    this.cancelRetries();
    await this.running;
  }

  private addCauses(node: string, why: readonly string[]): void {
    let entry = this.causes.get(node);
    if (entry === undefined) {
      entry = { set: new Set(), more: 0 };
      this.causes.set(node, entry);
    }
    for (const c of why) {
      if (entry.set.has(c)) continue;
      if (entry.set.size < MAX_CAUSES) entry.set.add(c);
      else entry.more++;
    }
  }

  private schedule(now: number): void {
    this.cancelTimer();
    if (this.running !== null) return; // the running batch reschedules when done
    const due = Math.min(now + this.options.debounceMs, this.firstMarkAt + this.options.maxDelayMs);
    this.timer = this.clock.setTimer(
      () => {
        this.timer = null;
        this.runBatch().catch((err: unknown) => this.report(err));
      },
      Math.max(0, due - now),
    );
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
  }

  /** Forgets failed renders and their pending retries (stop, or no longer leading). */
  private cancelRetries(): void {
    for (const t of this.retryTimers.values()) this.clock.clearTimer(t);
    this.retryTimers.clear();
    this.renderFailures.clear();
  }

  /** Reports an error through onError; never throws (a throwing reporter is dropped). */
  private report(err: unknown): void {
    try {
      this.options.onError?.(err);
    } catch {
      // The reporter itself failed; there is nowhere left to report to.
    }
  }

  /** Renders one node; on failure reports it, schedules a retry and returns null. */
  private renderOne(
    cluster: () => Cluster,
    node: string,
    why: readonly string[],
  ): RenderedNode | null {
    let r: RenderedNode;
    try {
      r = this.render(cluster(), node);
    } catch (error) {
      const failures = (this.renderFailures.get(node) ?? 0) + 1;
      this.renderFailures.set(node, failures);
      const retryInMs = (this.options.retryDelayMs ?? 1000) * 2 ** Math.min(failures - 1, 5);
      this.scheduleRetry(node, why, retryInMs);
      try {
        this.options.onRenderError?.({ node, error, failures, retryInMs });
      } catch (err) {
        this.report(err);
      }
      return null;
    }
    this.clearFailure(node);
    return r;
  }

  private scheduleRetry(node: string, why: readonly string[], ms: number): void {
    const previous = this.retryTimers.get(node);
    if (previous !== undefined) this.clock.clearTimer(previous);
    const timer = this.clock.setTimer(() => {
      if (this.retryTimers.get(node) !== timer) return;
      this.retryTimers.delete(node);
      try {
        this.markDirty([node], why.length > 0 ? why : ['retry']);
      } catch (err) {
        this.report(err);
      }
    }, ms);
    this.retryTimers.set(node, timer);
  }

  private clearFailure(node: string): void {
    this.renderFailures.delete(node);
    const timer = this.retryTimers.get(node);
    if (timer !== undefined) this.clock.clearTimer(timer);
    this.retryTimers.delete(node);
  }

  private async runBatch(): Promise<void> {
    if (this.running !== null) {
      await this.running;
      return;
    }
    if (this.dirty.size === 0) return;
    const nodes = [...this.dirty].sort();
    const causes = this.causes;
    this.dirty = new Set();
    this.causes = new Map();
    this.inFlight = nodes.length;
    const batch = this.renderAndSink(nodes, causes);
    this.running = batch.then(() => undefined);
    try {
      const done = await batch;
      // After the batch is off the queue, so that an observer sees the
      // queue depth without it (a settled engine reports idle here).
      this.inFlight = 0;
      try {
        this.options.onBatchDone?.(done);
      } catch (err) {
        this.report(err);
      }
    } finally {
      this.running = null;
      this.inFlight = 0;
      if (this.dirty.size > 0 && !this.stopped) {
        // Marks that arrived during the batch: a fresh debounce, still
        // bounded by the max delay from their first mark.
        this.schedule(this.clock.now());
      }
    }
  }

  private async renderAndSink(
    nodes: readonly string[],
    causes: ReadonlyMap<string, { readonly set: Set<string>; readonly more: number }>,
  ): Promise<{ readonly durationMs: number; readonly nodes: number }> {
    const started = this.clock.now();
    const rendered: RenderedNode[] = [];
    const removed: string[] = [];
    // One Cluster object per batch, so every node shares one translator and
    // its caches (measured faster than per-node sub-clusters from 1 node up).
    // Built on first use inside a node's render, so that a snapshot that
    // cannot be assembled fails those renders (retried) like any other cause.
    let cluster: { readonly ok: Cluster } | { readonly failed: unknown } | undefined;
    const clusterOf = (): Cluster => {
      if (cluster === undefined) {
        try {
          cluster = { ok: this.snapshot.cluster() };
        } catch (err) {
          cluster = { failed: err };
        }
      }
      if ('failed' in cluster) throw cluster.failed;
      return cluster.ok;
    };
    for (const node of nodes) {
      if (!this.snapshot.hasNode(node)) {
        removed.push(node);
        this.hashes.delete(node);
        this.clearFailure(node);
        continue;
      }
      const entry = causes.get(node);
      const why = entry === undefined ? undefined : boundCauses(entry.set, entry.more);
      const r = this.renderOne(clusterOf, node, why ?? []);
      if (r === null) continue; // keeps its last written script; retried later
      this.hashes.set(node, r.scriptHash);
      rendered.push(why === undefined ? r : { ...r, causes: why });
    }
    try {
      await this.sink({ rendered, removed });
    } catch (err) {
      this.report(err);
    }
    return { durationMs: this.clock.now() - started, nodes: nodes.length };
  }
}
