/**
 * The reconciler's running account of the AddressSets its NodeFirewall
 * lists: the watch's view of their slices, since when each missing set has
 * been missing, what the status says about them (SetsReady), and the timer
 * that ends a set's wait. Each plan (set-members.ts planSets, pure) goes
 * through here so that the wait is bounded across passes, the end of a wait
 * wakes the reconciler, and every change — waiting, missing after the wait,
 * a member skipped — is logged once, not once per pass.
 */
import type { NodeFirewall } from '../k8s/nodefirewall.js';
import type { Clock } from '../telemetry/clock.js';
import type { Logger } from '../telemetry/log.js';
import type { ExecutorEvent } from './events.js';
import { TIMER_SLACK_MS } from './node-state.js';
import {
  NO_SETS,
  planSets,
  referencedSetIds,
  setsStateOf,
  type SetsPlan,
  type SetsView,
} from './set-members.js';
import type { SetsState } from './status.js';

/** What a {@link SetTracker} needs. */
export interface SetTrackerDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly emit: (event: ExecutorEvent) => void;
  /** `--set-wait-ms`. */
  readonly setWaitMs: number;
  /** Sets a timer (the reconciler's, cancelled when it stops). */
  readonly later: (ms: number, fn: () => void) => unknown;
  readonly cancel: (timer: unknown) => void;
  /** A set's wait is over: ask for a pass. */
  readonly wakeUp: () => void;
}

/** Missing ids and invalid members named in a log line, at most. */
const LOGGED_IDS = 10;

/** See the file header. */
export class SetTracker {
  private readonly deps: SetTrackerDeps;
  /** The AddressSets as the watch has them. */
  view: SetsView = NO_SETS;
  private missingSince: ReadonlyMap<string, number> = new Map();
  private reported: SetsState = { kind: 'ready' };
  private awaiting = false;
  private wake: { readonly at: number; readonly handle: unknown } | null = null;
  /** What was last logged about waiting and missing sets. */
  private logged = '';
  /** `slice\0member` of the invalid members logged (each once while it stays). */
  private loggedInvalid = new Set<string>();

  constructor(deps: SetTrackerDeps) {
    this.deps = deps;
  }

  /** What the status says about the sets (the last outcome; kept while a set is awaited). */
  get state(): SetsState {
    return this.reported;
  }

  /** The last plan awaits a missing set: status writes wait for the outcome. */
  get isAwaiting(): boolean {
    return this.awaiting;
  }

  /**
   * What the sets `spec` lists hold now. `inKernel`: their members in the
   * kernel when the script in force is the one planned for, else null.
   */
  plan(
    spec: NodeFirewall['spec'] | null,
    inKernel: ReadonlyMap<string, readonly string[]> | null,
  ): SetsPlan {
    const { clock, log, setWaitMs } = this.deps;
    const plan = planSets({
      ids: referencedSetIds(spec),
      view: this.view,
      missingSince: this.missingSince,
      inKernel,
      nowMs: clock.now(),
      setWaitMs,
      slackMs: TIMER_SLACK_MS,
    });
    this.missingSince = plan.missingSince;
    this.logInvalid(plan);
    const state = setsStateOf(plan);
    this.awaiting = state === null;
    if (state !== null) this.reported = state;
    this.wakeAt(plan.nextDeadline);
    if (state?.kind === 'missing') {
      this.logOnce(`missing:${plan.missing.join(',')}`, () =>
        log.warn(
          {
            missing: plan.missing.slice(0, LOGGED_IDS),
            count: plan.missing.length,
            waitMs: setWaitMs,
          },
          'AddressSets still missing after the wait; their sets are loaded empty (fail closed)',
        ),
      );
    } else if (state !== null) {
      this.logged = '';
    }
    return plan;
  }

  /** Not awaiting anything (a decision that plans no sets). */
  settle(): void {
    this.awaiting = false;
  }

  /** A new script waits for sets not seen yet: said once per set of missing ids. */
  reportWaiting(plan: SetsPlan, until: number): void {
    this.logOnce(`waiting:${plan.missing.join(',')}`, () => {
      this.deps.log.info(
        {
          missing: plan.missing.slice(0, LOGGED_IDS),
          count: plan.missing.length,
          waitMs: until - this.deps.clock.now(),
        },
        'waiting for AddressSets before loading the new script',
      );
      this.deps.emit({ kind: 'waitingForSets', missing: plan.missing, until });
    });
  }

  private logOnce(key: string, log: () => void): void {
    if (key === this.logged) return;
    this.logged = key;
    log();
  }

  private logInvalid(plan: SetsPlan): void {
    const keys = new Set<string>();
    for (const m of plan.invalid) {
      const key = `${m.slice}\0${m.member}`;
      keys.add(key);
      if (!this.loggedInvalid.has(key)) {
        this.deps.log.warn(
          { slice: m.slice, member: m.member, problem: m.message },
          'skipped an invalid AddressSet member',
        );
      }
    }
    this.loggedInvalid = keys;
  }

  /** Wakes the reconciler when the set wait ending at `at` (clock ms) is over; null: no wait. */
  private wakeAt(at: number | null): void {
    if (this.wake?.at === at) return;
    if (this.wake !== null) this.deps.cancel(this.wake.handle);
    this.wake = null;
    if (at === null) return;
    const handle = this.deps.later(Math.max(0, at - this.deps.clock.now()), () => {
      this.wake = null;
      this.deps.wakeUp();
    });
    this.wake = { at, handle };
  }
}
