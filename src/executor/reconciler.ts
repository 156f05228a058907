/**
 * The executor's state machine for its node. Everything it knows is one
 * explicit record ({@link NodeState}); events — the watch's view of the
 * NodeFirewall, a host probe result, a drift tick, a retry timer — update
 * the record and ask for a pass (serial-passes.ts). Each pass is level-based:
 * it reads the live table, adopts a predecessor's table after a restart,
 * detects drift, asks `decideAction` (reconcile.ts) what to do with the
 * current spec — apply, restore the last good script, refuse, nothing — does
 * it, and writes the whole status once (status-writer.ts, skipped when it
 * would not change). So whatever happened while the API was unreachable is
 * reported by the first pass after it comes back.
 *
 * Members (v2): the script declares shared sets; their members come from
 * the AddressSet slices the NodeFirewall lists (set-members.ts; the waits
 * and what the status says about them: set-tracker.ts). A load is always
 * the composed script (compose.ts composeScript: rules + members), so the
 * kernel gets exactly what `nftpol render` prints. A new script waits (bounded) for sets not yet
 * seen. When only members change — a slice event — the pass is a members
 * pass: no read of the table (that costs far more than the change), just
 * one `nft -f` of the element delta, or the whole composed script if nft
 * rejects the delta. Status is written as always — only when it changes,
 * so never because members changed.
 *
 * Everything outside — nft, the probe, the status write, time — comes in as
 * a dependency, so test/unit/executor/reconciler.test.ts drives it with a
 * fake clock and an in-memory table, without root.
 */
import type { NodeFirewall } from '../k8s/nodefirewall.js';
import type { PatchNodeFirewallStatus } from '../k8s/nodefirewall-status.js';
import { errorText } from '../k8s/errors.js';
import { decodeSpecScript, type DecodedScript } from '../k8s/script-encoding.js';
import { NftError } from '../nft/apply.js';
import { composeElements, composeScript, memberDelta } from '../nft/compose.js';
import { liveSharedMembers } from '../nft/live-members.js';
import type { NormalizedTable, ParsedRuleset } from '../nft/ruleset.js';
import type { Clock } from '../telemetry/clock.js';
import type { Logger } from '../telemetry/log.js';
import type { ExecutorMetrics } from '../telemetry/metrics.js';
import { Backoff } from './backoff.js';
import { driftSummaryOf } from './drift.js';
import type { ExecutorEvent } from './events.js';
import type { ProbeResult } from './host-probe.js';
import { LiveCounters } from './live-counters.js';
import {
  afterAdopted,
  afterDrift,
  afterLoaded,
  afterMembers,
  afterRejected,
  hostStateOf,
  INITIAL_STATE,
  kernelStateOf,
  withReference,
  type Applied,
  type LoadKind,
  type NodeState,
} from './node-state.js';
import type { NodeTable } from './node-table.js';
import type { ExecutorOptions } from './options.js';
import {
  decideAction,
  findAdoptable,
  runAction,
  type Action,
  type ApplyAction,
  type ApplyCause,
} from './reconcile.js';
import { SerialPasses } from './serial-passes.js';
import { referencedSetIds, validMembers, type SetsView, type Slice } from './set-members.js';
import { SetTracker } from './set-tracker.js';
import { applyStateOf, firstLines, type ApplyState, type Refusal } from './status.js';
import { StatusWriter } from './status-writer.js';

/** What the reconciler acts through. */
export interface ReconcilerDeps {
  readonly table: NodeTable;
  /** Probes the host (host-probe.ts probeHost in production). */
  readonly probe: () => Promise<ProbeResult>;
  readonly patchStatus: PatchNodeFirewallStatus;
  /** Retry timers, back-off deadlines and counter intervals. */
  readonly clock: Clock;
  /** Wall clock for status times (lastAppliedTime, transition times). */
  readonly now: () => Date;
  readonly log: Logger;
  readonly emit: (event: ExecutorEvent) => void;
  readonly metrics: ExecutorMetrics;
}

/** The options the reconciler reads. */
export type ReconcilerOptions = Pick<
  ExecutorOptions,
  'retryBackoffMs' | 'retryMaxBackoffMs' | 'countersIntervalMs' | 'setWaitMs'
>;

/** Members by set id. */
type Members = ReadonlyMap<string, readonly string[]>;
const NO_MEMBERS: Members = new Map();

/** One node's reconciler: feed it events, it keeps the table and the status right. */
export class NodeReconciler {
  private readonly deps: ReconcilerDeps;
  private s: NodeState = INITIAL_STATE;
  private stopped = false;
  private readonly timers = new Set<unknown>();
  private readonly retryBackoff: Backoff;
  private readonly probeBackoff: Backoff;
  private readonly counters: LiveCounters;
  private readonly status: StatusWriter;
  private readonly passes: SerialPasses;
  private readonly sets: SetTracker;
  /** A full pass (table read, drift, decision) was asked for; else a pass only syncs members. */
  private fullPending = false;
  /** The elements the applied members give, for the drift check (computed once per change). */
  private expected: { readonly applied: Applied; readonly elements: Members } | null = null;
  /** The last spec decoded and its script: decompressing a large script costs milliseconds. */
  private lastDecoded: {
    readonly spec: NodeFirewall['spec'];
    readonly result: DecodedScript;
  } | null = null;

  constructor(options: ReconcilerOptions, deps: ReconcilerDeps) {
    this.deps = deps;
    this.sets = new SetTracker({
      ...deps,
      setWaitMs: options.setWaitMs,
      later: (ms, fn) => this.later(ms, fn),
      cancel: (t) => this.cancel(t),
      wakeUp: () => void this.requestPass(),
    });
    const backoff = (): Backoff => new Backoff(options.retryBackoffMs, options.retryMaxBackoffMs);
    this.retryBackoff = backoff();
    this.probeBackoff = backoff();
    this.counters = new LiveCounters({ ...deps, countersIntervalMs: options.countersIntervalMs });
    this.status = new StatusWriter({
      ...deps,
      patch: deps.patchStatus,
      counters: this.counters,
      backoff: backoff(),
      retryAfter: (ms) => this.later(ms, () => void this.requestPass()),
    });
    this.passes = new SerialPasses(
      () => this.pass(),
      (err) => deps.log.error({ err: errorText(err) }, 'failed reconcile pass'),
      () => deps.emit({ kind: 'passDone' }),
    );
  }

  /** What the reconciler knows now. */
  get state(): NodeState {
    return this.s;
  }

  // ------------------------------------------------------------ events

  /** Event: the watch's view of the NodeFirewall (null: deleted). */
  observe(next: NodeFirewall | null): void {
    const { log } = this.deps;
    if (next === null) {
      log.info('NodeFirewall deleted; the ruleset stays in force (fail-static)');
    } else if (this.s.object !== null && this.s.object.metadata.uid !== next.metadata.uid) {
      this.status.forget(); // a new object: start from its own conditions
    }
    this.update({ object: next });
    void this.requestPass();
  }

  /**
   * Event: the AddressSets changed (`view` is the watch's store). Asks for a
   * members pass: unless a full pass is due anyway, only the members of the
   * script in force are brought up to date.
   */
  observeSets(view: SetsView): void {
    this.sets.view = view;
    void this.passes.request();
  }

  /** Event: the watch delivered its first list (and the first probe is done). */
  async synced(): Promise<void> {
    if (this.s.object === null) {
      this.deps.log.info('no NodeFirewall for this node yet; waiting for the controller');
    }
    await this.requestPass();
  }

  /**
   * Probes the host and records the verdict; while it is unusable, probes
   * again with back-off. Resolves after the pass the verdict asked for.
   */
  async probeHost(): Promise<void> {
    const { log, emit } = this.deps;
    const result = await this.deps.probe();
    this.update({ host: result });
    if (result.usable) {
      this.probeBackoff.reset();
      for (const warning of result.warnings) log.warn({ warning }, 'host probe warning');
      log.info({ nftVersion: result.nftVersion }, 'probed host: usable');
      emit({ kind: 'probed', usable: true, message: result.warnings.join('; ') });
    } else {
      const wait = this.probeBackoff.nextDelayMs();
      log.error(
        { problem: result.message, retryInMs: wait },
        'probed host: unusable; policy is not enforced',
      );
      emit({ kind: 'probed', usable: false, message: result.message });
      this.later(wait, () => void this.probeHost());
    }
    await this.requestPass();
  }

  /** Event: look again (a drift tick, `checkNow`). Resolves when the loop is idle. */
  requestPass(): Promise<void> {
    this.fullPending = true;
    return this.passes.request();
  }

  /** Resolves once no pass runs or is asked for (tests: after a timer fired). */
  idle(): Promise<void> {
    return this.passes.idle();
  }

  /** Cancels the timers and runs no further pass; resolves once the running one is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) this.deps.clock.clearTimer(t);
    this.timers.clear();
    await this.passes.stop();
  }

  // ------------------------------------------------------------ the pass

  private async pass(): Promise<void> {
    const full = this.fullPending;
    this.fullPending = false;
    const { object, host } = this.s;
    if (host === null) return; // not probed yet: nothing true to report
    if (!host.usable) {
      if (object !== null) {
        await this.writeStatus(object, { kind: 'notAttempted', why: 'the host is not usable' });
      }
      return;
    }
    let refused: Refusal | null = null;
    if (!full && object !== null && this.inForce(object)) {
      await this.syncMembers(); // a members pass
    } else {
      const live = await this.counters.read();
      const drift = await this.detectDrift(object, live);
      refused = await this.enforce(object, drift);
    }
    // While a set is awaited the outcome is open: the status waits for it.
    if (object !== null && !this.sets.isAwaiting) {
      await this.writeStatus(object, this.applyStateNow(object, refused));
    }
  }

  /**
   * The spec's script is the one in force, in sync and not failing: a change
   * of members needs no decision, only their delta.
   */
  private inForce(object: NodeFirewall): boolean {
    const { applied, failed, sync } = this.s;
    if (applied === null || failed !== null || sync.kind === 'drifted') return false;
    if (applied.hash !== object.spec.scriptHash) return false;
    const decoded = this.decode(object.spec);
    return decoded.kind === 'decoded' && decoded.script === applied.script;
  }

  /**
   * Adopts a predecessor's table, takes the live table as the reference when
   * the read after the load failed, and compares.
   * @returns the drift summary, or null when in sync (or nothing to compare).
   */
  private async detectDrift(
    object: NodeFirewall | null,
    live: ParsedRuleset | null,
  ): Promise<string | null> {
    if (object !== null && this.s.applied === null && live?.table != null) {
      this.adopt(object, live.table);
    }
    if (live?.table != null) this.s = withReference(this.s, live.table);
    const applied = this.s.applied;
    if (applied?.reference == null || live === null) return null;
    const summary = driftSummaryOf(applied.reference, live.table, this.expectedElements(applied));
    if (summary === null) return null;
    this.s = afterDrift(this.s, summary);
    this.deps.log.warn({ hash: applied.hash, drift: summary }, 'detected drift of the live table');
    this.deps.emit({ kind: 'drifted', summary });
    if (object !== null) await this.writeStatus(object, this.applyStateNow(object, null));
    return summary;
  }

  /** The elements each shared set of `applied` holds (member text), for the drift check. */
  private expectedElements(applied: Applied): Members {
    const known = this.expected;
    if (known?.applied.script === applied.script && known.applied.members === applied.members) {
      return known.elements;
    }
    const elements = composeElements(applied.script, applied.members);
    this.expected = { applied, elements };
    return elements;
  }

  /**
   * A restart with nothing changed: the table applied before is still there,
   * and the status says so. The members in its sets are taken as in force
   * (a members pass brings them up to date once the AddressSets are listed).
   */
  private adopt(object: NodeFirewall, table: NormalizedTable): void {
    const found = findAdoptable(object.spec, object.status, this.decode(object.spec));
    if (found === null) return;
    const live = liveSharedMembers(table);
    const members = new Map(
      referencedSetIds(object.spec).map(
        (id) => [id, validMembers(id, live.get(id) ?? [])] as const,
      ),
    );
    this.s = afterAdopted(this.s, found, table, members);
    this.deps.log.info({ hash: found.hash }, 'adopted the table already in force');
    this.deps.emit({ kind: 'adopted', hash: found.hash });
  }

  /** Decides and acts. @returns the refusal, for the status, or null. */
  private async enforce(
    object: NodeFirewall | null,
    drift: string | null,
  ): Promise<Refusal | null> {
    if (object === null) {
      if (!this.s.reportedMissing) {
        this.deps.log.info('no NodeFirewall for this node yet; nothing to apply');
        this.update({ reportedMissing: true });
      }
    } else {
      this.update({ reportedMissing: false });
    }
    const spec = object?.spec ?? null;
    const decoded = spec === null ? null : this.decode(spec);
    const action = decideAction(spec, kernelStateOf(this.s, drift, this.deps.clock.now()), decoded);
    this.sets.settle();
    switch (action.kind) {
      case 'apply': {
        const plan = this.sets.plan(spec, this.inKernel(action.script));
        if (action.cause !== 'repair' && plan.waitUntil !== null) {
          this.sets.reportWaiting(plan, plan.waitUntil);
          if (drift !== null && this.s.applied !== null) {
            // The table in force drifted meanwhile: restore it while the new script waits.
            await this.load(this.s.applied, this.s.applied.members, 'repair', drift, 'restore');
          }
          return null;
        }
        if (!(await this.load(action, plan.members, action.cause, drift, 'spec'))) {
          await this.afterRejection(spec, decoded, drift);
        }
        return null;
      }
      case 'restore':
        await this.load(action, this.s.applied?.members ?? NO_MEMBERS, 'repair', drift, 'restore');
        return null;
      case 'refuse':
        this.reportRefusal(action);
        if (action.restore !== undefined) {
          const members = this.s.applied?.members ?? NO_MEMBERS;
          await this.load(action.restore, members, 'repair', drift, 'restore');
        }
        return action;
      case 'none':
        if (action.why === 'UpToDate') {
          await this.syncMembers();
        } else if (action.why !== 'NoNodeFirewall') {
          this.deps.log.debug({ why: action.why, hash: spec?.scriptHash }, 'nothing to apply');
        }
        return null;
    }
  }

  // ------------------------------------------------------------ members

  /** The members in the kernel, when the script in force is `script`; else null. */
  private inKernel(script: string): Members | null {
    const { applied } = this.s;
    return applied?.script === script ? applied.members : null;
  }

  /**
   * Brings the members of the script in force up to date: one `nft -f` of
   * the delta; if nft rejects it, the whole composed script. Nothing when
   * nothing changed.
   */
  private async syncMembers(): Promise<void> {
    const applied = this.s.applied;
    if (applied === null) return;
    const plan = this.sets.plan(this.s.object?.spec ?? null, applied.members);
    const changed = this.sets.view.takeChanged();
    const delta = memberDelta(applied.script, applied.members, plan.members);
    if (delta === null) {
      this.s = afterMembers(this.s, plan.members); // same members; keep the new lists' identity
      return;
    }
    const { log, emit, metrics, table } = this.deps;
    this.update({ applyCount: this.s.applyCount + 1 });
    metrics.loads.inc({ kind: 'delta' });
    const started = performance.now();
    try {
      await table.load(delta);
    } catch (err) {
      const error = err instanceof NftError && err.stderr.trim() !== '' ? err.stderr : String(err);
      metrics.memberUpdates.inc({ result: 'failed' });
      log.warn(
        { hash: applied.hash, err: firstLines(error).split('\n') },
        'nft rejected the member delta; loading the whole script instead',
      );
      emit({ kind: 'membersFailed', error });
      await this.load(applied, plan.members, 'members', null, 'spec');
      return;
    }
    const durationMs = performance.now() - started;
    metrics.memberUpdates.inc({ result: 'ok' });
    this.s = afterMembers(this.s, plan.members);
    const nowMs = this.deps.now().getTime();
    for (const slice of changed) observeLag(metrics, slice, nowMs);
    const { added, removed } = countDelta(delta);
    log.debug(
      { hash: applied.hash, added, removed, durationMs: Math.round(durationMs) },
      'applied member delta',
    );
    emit({ kind: 'membersApplied', added, removed });
  }

  /**
   * nft rejected the spec's script in this pass: decide again, its retry not
   * due yet — on a drifted table that restores the last good script.
   */
  private async afterRejection(
    spec: NodeFirewall['spec'] | null,
    decoded: DecodedScript | null,
    drift: string | null,
  ): Promise<void> {
    const next: Action = decideAction(
      spec,
      { ...kernelStateOf(this.s, drift, this.deps.clock.now()), retryDue: false },
      decoded,
    );
    if (next.kind === 'restore') {
      await this.load(next, this.s.applied?.members ?? NO_MEMBERS, 'repair', drift, 'restore');
    } else if (next.kind === 'apply') {
      const plan = this.sets.plan(spec, this.inKernel(next.script));
      await this.load(next, plan.members, 'repair', drift, 'spec');
    }
  }

  private reportRefusal(action: Refusal): void {
    const { log, emit } = this.deps;
    if (action.reason === 'DecodeFailed') {
      log.error({ err: action.message }, 'refused script: scriptGzip does not decode');
      emit({ kind: 'decodeFailed', message: action.message });
    } else {
      log.error(
        { declared: action.declared, actual: action.actual },
        'refused script: hash mismatch',
      );
      emit({ kind: 'refused', declared: action.declared, actual: action.actual });
    }
  }

  /**
   * Loads a script (the spec's, or the last good one restored) composed with
   * `members`, records the outcome. A restore leaves the spec's rejection and
   * its back-off as they were. @returns whether nft accepted it.
   */
  private async load(
    target: Pick<ApplyAction, 'script' | 'hash'>,
    members: Members,
    cause: ApplyCause,
    drift: string | null,
    kind: LoadKind,
  ): Promise<boolean> {
    const { log, emit, metrics, clock } = this.deps;
    const { script, hash } = target;
    this.update({ applyCount: this.s.applyCount + 1 });
    metrics.loads.inc({ kind: 'full' });
    this.sets.view.takeChanged(); // the load carries every change so far; lag is for deltas
    const composed = composeScript(script, members);
    const result = await runAction({ script: composed, hash }, { table: this.deps.table });
    metrics.applyDuration.observe(result.durationMs / 1000);
    if (result.kind === 'applied') {
      if (drift !== null) metrics.driftRepairs.inc();
      this.s = afterLoaded(
        this.s,
        { hash, script, reference: result.reference, members },
        this.deps.now(),
        drift,
        kind,
      );
      if (kind === 'spec') this.retryBackoff.reset();
      log.info({ hash, cause, durationMs: Math.round(result.durationMs) }, 'applied script');
      emit({ kind: 'applied', hash, cause });
      return true;
    }
    metrics.applyFailures.inc();
    const wait = this.retryBackoff.nextDelayMs();
    this.s = afterRejected(this.s, hash, result.error, clock.now() + wait);
    log.error(
      { hash, cause, err: result.error.trim().split('\n').slice(0, 5), retryInMs: wait },
      'failed to apply script; previous ruleset stays in force',
    );
    emit({ kind: 'applyFailed', hash, error: result.error });
    this.later(wait, () => void this.requestPass());
    return false;
  }

  // ------------------------------------------------------------ views of the state

  private applyStateNow(object: NodeFirewall, refused: Refusal | null): ApplyState {
    const known = { appliedHash: this.s.applied?.hash ?? null, failed: this.s.failed };
    return applyStateOf(object.spec.scriptHash, this.decode(object.spec), known, refused);
  }

  private async writeStatus(object: NodeFirewall, apply: ApplyState): Promise<void> {
    const { host, applied, sync } = this.s;
    await this.status.write(
      object,
      { host: hostStateOf(host), apply, sync, sets: this.sets.state },
      {
        appliedHash: applied?.hash ?? object.status?.appliedHash ?? null,
        lastAppliedTime: applied?.at ?? null,
        nftVersion: host?.nftVersion ?? object.status?.nftVersion ?? null,
        now: this.deps.now(),
      },
    );
  }

  private decode(spec: NodeFirewall['spec']): DecodedScript {
    if (this.lastDecoded?.spec !== spec) {
      this.lastDecoded = { spec, result: decodeSpecScript(spec) };
    }
    return this.lastDecoded.result;
  }

  private update(patch: Partial<NodeState>): void {
    this.s = { ...this.s, ...patch };
  }

  private later(ms: number, fn: () => void): unknown {
    const t = this.deps.clock.setTimer(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private cancel(t: unknown): void {
    this.deps.clock.clearTimer(t);
    this.timers.delete(t);
  }
}

/** One lag observation for a changed slice that says when it was written. */
function observeLag(metrics: ExecutorMetrics, slice: Slice, nowMs: number): void {
  if (slice.writtenAtMs === null) return;
  metrics.memberLag.observe(Math.max(0, nowMs - slice.writtenAtMs) / 1000);
}

/** Elements a delta adds and deletes (one per `, `-separated item of each line). */
function countDelta(delta: string): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const line of delta.split('\n')) {
    if (line === '') continue;
    const n = line.split(', ').length;
    if (line.startsWith('add ')) added += n;
    else removed += n;
  }
  return { added, removed };
}
