/**
 * The incremental engine: nodes marked dirty by the snapshot are rendered in
 * coalesced batches and handed to a sink (the publisher), together with the
 * shared sets whose members changed (v2: members go to AddressSet slices,
 * rules to NodeFirewalls). Level-based: a mark says only "look at this node
 * (or set) again"; the render reads the snapshot as it is when the batch
 * runs, so ten events on one node cost one render.
 *
 * Streaming: a batch reaches the sink in chunks of at most `chunkNodes`
 * rendered nodes, the changed sets with the first chunk, so no batch — not
 * even the full build after a restart — holds every node's script at once.
 *
 * Sets no policy defines any more are handed over for deletion only after
 * `setGraceMs`, and not at all when a policy defines them again meanwhile:
 * an executor still loading the rules that name a set keeps finding it.
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
import type { NodeFirewallSummary } from '../k8s/nodefirewall.js';
import type { PeerSet } from '../policy/peer-sets.js';
import type { MemberDelta } from './memberships.js';
import { summarizePlan } from '../policy/plan.js';
import { RuleCompiler } from '../policy/rule-compiler.js';
import { nodeTranslator, type NodeSource } from '../policy/translate.js';
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
  /** Ids of the shared sets the script declares, sorted (NodeFirewall `spec.addressSets`). */
  readonly addressSets: readonly string[];
  /**
   * What marked the node dirty since its last render (`Kind namespace/name`,
   * `resync`), bounded by history/store.ts boundCauses; set by the engine.
   */
  readonly causes?: readonly string[];
}

/** A shared set whose slices may need writing. */
export interface SetMembers {
  readonly id: string;
  readonly set: PeerSet;
  /** All its current members, unsorted, unique (computed on call: the set may be large). */
  readonly members: () => readonly string[];
  /**
   * What joined and left since the last batch, when known; null when the
   * whole set must be compared (a new set, activation, a retry).
   */
  readonly delta: MemberDelta | null;
}

/** What one chunk of a batch asks the sink to do; sets come before the nodes naming them. */
export interface Batch {
  /** Shared sets whose members (may have) changed, or that must be written anew. */
  readonly sets?: readonly SetMembers[];
  /** Sets no policy has defined for the grace period: their slices should go. */
  readonly removedSets?: readonly string[];
  /** Scripts of dirty nodes that exist. */
  readonly rendered: readonly RenderedNode[];
  /** Dirty nodes that no longer exist: their NodeFirewall should go. */
  readonly removed: readonly string[];
}

/** Translates and renders one node from what `source` holds. */
export type RenderNode = (source: NodeSource, node: string) => RenderedNode;

/** Options of {@link Engine}. */
export interface EngineOptions {
  /** @default 100 */
  readonly debounceMs: number;
  /** @default 1000 */
  readonly maxDelayMs: number;
  /** @default SYSTEM_CLOCK */
  readonly clock?: Clock;
  /** Most rendered nodes per sink call. @default 256 */
  readonly chunkNodes?: number;
  /** How long a set no policy defines is kept before its slices are deleted. @default 60000 */
  readonly setGraceMs?: number;
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
 * The production render: translate from the snapshot (only the node's own
 * pods and their namespaces' policies are read), then renderScript, then the
 * summary. One rule compiler is shared by every call, so each policy's set
 * ids are hashed once while the policy object lives.
 */
export function renderNodeWith(options: { readonly failClosed: boolean }): RenderNode {
  const compiler = new RuleCompiler();
  return (source, node) => {
    const plan = nodeTranslator(source, compiler)(node, { failClosed: options.failClosed });
    const { script, scriptHash } = renderScript(plan);
    return {
      node,
      script,
      scriptHash,
      summary: { ...summarizePlan(plan), policyNames: plan.policies },
      addressSets: [...new Set(plan.sets.map((s) => s.id))],
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
  /** Sets marked by hand (activation, retries), besides the snapshot's own changes. */
  private dirtySets = new Set<string>();
  /** Sets no policy defines, with when their slices may be deleted. */
  private readonly retiring = new Map<string, number>();
  private retireTimer: unknown = null;
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
  setActive(active: boolean, extra: Iterable<string> = [], extraSets: Iterable<string> = []): void {
    if (this.active === active) return;
    this.active = active;
    if (!active) {
      this.cancelTimer();
      this.cancelRetries();
      this.dirty.clear();
      this.dirtySets.clear();
      this.causes.clear();
      this.retiring.clear();
      if (this.retireTimer !== null) this.clock.clearTimer(this.retireTimer);
      this.retireTimer = null;
      return;
    }
    this.snapshot.memberships.takeChanges(); // everything is written below
    this.markSets([...this.snapshot.memberships.ids(), ...extraSets]);
    this.markDirty([...this.snapshot.nodeNames(), ...extra], ['resync']);
  }

  /** Marks shared sets for a write of their current members (or retirement); schedules a batch. */
  markSets(ids: Iterable<string>): void {
    if (!this.active || this.stopped) return;
    for (const id of ids) this.dirtySets.add(id);
    this.markDirty([]);
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
    const sets = this.dirtySets.size > 0 || this.snapshot.memberships.hasChanges();
    if (!any && !sets) return;
    const now = this.clock.now();
    // The first mark since the last batch started its delay (a pending timer means one did).
    if (before === 0 && this.timer === null) this.firstMarkAt = now;
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
  private renderOne(node: string, why: readonly string[]): RenderedNode | null {
    let r: RenderedNode;
    try {
      r = this.render(this.snapshot, node);
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
    const sets = this.takeSets();
    if (this.dirty.size === 0 && sets.sets.length === 0 && sets.removedSets.length === 0) return;
    const nodes = [...this.dirty].sort();
    const causes = this.causes;
    this.dirty = new Set();
    this.causes = new Map();
    this.inFlight = nodes.length;
    const batch = this.renderAndSink(nodes, causes, sets);
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
      if ((this.dirty.size > 0 || this.hasSetWork()) && !this.stopped) {
        // Marks that arrived during the batch: a fresh debounce, still
        // bounded by the max delay from their first mark.
        this.schedule(this.clock.now());
      }
    }
  }

  private hasSetWork(): boolean {
    return this.dirtySets.size > 0 || this.snapshot.memberships.hasChanges();
  }

  /**
   * The sets to write now (current members of every changed or marked set a
   * policy defines) and the retired sets whose grace has passed; sets no
   * longer defined start their grace period here.
   */
  private takeSets(): { sets: SetMembers[]; removedSets: string[] } {
    const memberships = this.snapshot.memberships;
    const { changed, removed, deltas } = memberships.takeChanges();
    const marked = this.dirtySets;
    const ids = new Set([...changed, ...removed, ...marked]);
    this.dirtySets = new Set();
    const now = this.clock.now();
    const sets: SetMembers[] = [];
    for (const id of [...ids].sort()) {
      const set = memberships.setOf(id);
      if (set !== undefined) {
        this.retiring.delete(id);
        const delta = marked.has(id) ? null : (deltas.get(id) ?? null);
        sets.push({ id, set, members: () => memberships.membersOf(id), delta });
      } else if (!this.retiring.has(id)) {
        this.retiring.set(id, now + (this.options.setGraceMs ?? 60_000));
      }
    }
    const removedSets: string[] = [];
    let next = Infinity;
    for (const [id, due] of this.retiring) {
      if (this.snapshot.memberships.setOf(id) !== undefined) this.retiring.delete(id);
      else if (due <= now) {
        removedSets.push(id);
        this.retiring.delete(id);
      } else next = Math.min(next, due);
    }
    if (this.retireTimer !== null) this.clock.clearTimer(this.retireTimer);
    this.retireTimer = null;
    if (next !== Infinity) {
      this.retireTimer = this.clock.setTimer(() => {
        this.retireTimer = null;
        if (this.active && !this.stopped) this.schedule(this.clock.now());
      }, next - now);
    }
    return { sets, removedSets: removedSets.sort() };
  }

  private async renderAndSink(
    nodes: readonly string[],
    causes: ReadonlyMap<string, { readonly set: Set<string>; readonly more: number }>,
    sets: { readonly sets: readonly SetMembers[]; readonly removedSets: readonly string[] },
  ): Promise<{ readonly durationMs: number; readonly nodes: number }> {
    const started = this.clock.now();
    const chunk = this.options.chunkNodes ?? 256;
    let rendered: RenderedNode[] = [];
    let removed: string[] = [];
    let first = true;
    const flush = async (): Promise<void> => {
      const part: Batch = first ? { ...sets, rendered, removed } : { rendered, removed };
      first = false;
      rendered = [];
      removed = [];
      try {
        await this.sink(part);
      } catch (err) {
        this.report(err);
      }
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
      const r = this.renderOne(node, why ?? []);
      if (r === null) continue; // keeps its last written script; retried later
      this.hashes.set(node, r.scriptHash);
      rendered.push(why === undefined ? r : { ...r, causes: why });
      if (rendered.length >= chunk) await flush();
    }
    if (first || rendered.length > 0 || removed.length > 0) await flush();
    return { durationMs: this.clock.now() - started, nodes: nodes.length };
  }
}
