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
 * Everything outside — nft, the probe, the status write, time — comes in as
 * a dependency, so test/unit/executor/reconciler.test.ts drives it with a
 * fake clock and an in-memory table, without root.
 */
import type { NodeFirewall } from '../k8s/nodefirewall.js';
import type { PatchNodeFirewallStatus } from '../k8s/nodefirewall-status.js';
import { errorText } from '../k8s/errors.js';
import { decodeSpecScript, type DecodedScript } from '../k8s/script-encoding.js';
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
  afterRejected,
  hostStateOf,
  INITIAL_STATE,
  kernelStateOf,
  withReference,
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
import { applyStateOf, type ApplyState, type Refusal } from './status.js';
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
  'retryBackoffMs' | 'retryMaxBackoffMs' | 'countersIntervalMs'
>;

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
  /** The last spec decoded and its script: decompressing a large script costs milliseconds. */
  private lastDecoded: {
    readonly spec: NodeFirewall['spec'];
    readonly result: DecodedScript;
  } | null = null;

  constructor(options: ReconcilerOptions, deps: ReconcilerDeps) {
    this.deps = deps;
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
    const { object, host } = this.s;
    if (host === null) return; // not probed yet: nothing true to report
    if (!host.usable) {
      if (object !== null) {
        await this.writeStatus(object, { kind: 'notAttempted', why: 'the host is not usable' });
      }
      return;
    }
    const live = await this.counters.read();
    const drift = await this.detectDrift(object, live);
    const refused = await this.enforce(object, drift);
    if (object !== null) await this.writeStatus(object, this.applyStateNow(object, refused));
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
    const summary = driftSummaryOf(applied.reference, live.table);
    if (summary === null) return null;
    this.s = afterDrift(this.s, summary);
    this.deps.log.warn({ hash: applied.hash, drift: summary }, 'detected drift of the live table');
    this.deps.emit({ kind: 'drifted', summary });
    if (object !== null) await this.writeStatus(object, this.applyStateNow(object, null));
    return summary;
  }

  /** A restart with nothing changed: the table applied before is still there, and the status says so. */
  private adopt(object: NodeFirewall, table: NormalizedTable): void {
    const found = findAdoptable(object.spec, object.status, this.decode(object.spec));
    if (found === null) return;
    this.s = afterAdopted(this.s, found, table);
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
    switch (action.kind) {
      case 'apply':
        if (!(await this.load(action, action.cause, drift, 'spec'))) {
          await this.afterRejection(spec, decoded, drift);
        }
        return null;
      case 'restore':
        await this.load(action, 'repair', drift, 'restore');
        return null;
      case 'refuse':
        this.reportRefusal(action);
        if (action.restore !== undefined) {
          await this.load(action.restore, 'repair', drift, 'restore');
        }
        return action;
      case 'none':
        if (action.why !== 'NoNodeFirewall') {
          this.deps.log.debug({ why: action.why, hash: spec?.scriptHash }, 'nothing to apply');
        }
        return null;
    }
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
    if (next.kind === 'restore' || next.kind === 'apply') {
      await this.load(next, 'repair', drift, next.kind === 'apply' ? 'spec' : 'restore');
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
   * Loads a script (the spec's, or the last good one restored), records the
   * outcome. A restore leaves the spec's rejection and its back-off as they
   * were. @returns whether nft accepted it.
   */
  private async load(
    target: Pick<ApplyAction, 'script' | 'hash'>,
    cause: ApplyCause,
    drift: string | null,
    kind: LoadKind,
  ): Promise<boolean> {
    const { log, emit, metrics, clock } = this.deps;
    const { script, hash } = target;
    this.update({ applyCount: this.s.applyCount + 1 });
    const result = await runAction(target, { table: this.deps.table });
    metrics.applyDuration.observe(result.durationMs / 1000);
    if (result.kind === 'applied') {
      if (drift !== null) metrics.driftRepairs.inc();
      this.s = afterLoaded(
        this.s,
        { hash, script, reference: result.reference },
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
      { host: hostStateOf(host), apply, sync },
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

  private later(ms: number, fn: () => void): void {
    const t = this.deps.clock.setTimer(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }
}
