/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's
 * semantics so that nftpol behaves like every other controller an operator
 * knows:
 *
 *  - a candidate tries every `retryPeriodMs`; it takes the Lease when it is
 *    absent, released (empty holder), or not renewed for its
 *    `leaseDurationSeconds` — measured on the candidate's own clock from the
 *    moment it last saw the record change, so clock skew between replicas
 *    does not matter;
 *  - the leader renews every `retryPeriodMs` and steps down when it has not
 *    renewed for `renewDeadlineMs`, or as soon as it sees another holder;
 *  - writes use the Lease's resourceVersion, so two candidates racing for an
 *    expired Lease cannot both win (the loser gets 409 Conflict);
 *  - {@link LeaderElector.stop} with release empties the holder and sets the
 *    duration to 1 s, so a successor takes over at once instead of waiting
 *    out the lease.
 *
 * The API is behind {@link LeaseStore}: k8s/lease.ts implements it over the
 * API (with the MicroTime format the server requires), leader.test.ts in memory.
 */
import { LeaseConflictError, microTime, type LeaseRecord, type LeaseStore } from '../k8s/lease.js';
import type { Clock } from '../telemetry/clock.js';

/** Options of {@link LeaderElector}. */
export interface LeaderOptions {
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly clock: Clock;
}

/** What the elector tells its owner. */
export interface LeaderCallbacks {
  onStartedLeading(): void;
  onStoppedLeading(): void;
  /** An API error while acquiring or renewing (logged by the owner). */
  onError?(err: unknown): void;
}

/** Acquires, renews and releases the Lease; one per replica. */
export class LeaderElector {
  private readonly store: LeaseStore;
  private readonly options: LeaderOptions;
  private readonly callbacks: LeaderCallbacks;
  private leader = false;
  private lastRenewAt = 0;
  private observedJson = '';
  private observedAt = 0;
  private timer: unknown = null;
  private ticking: Promise<void> | null = null;
  private stopped = true;

  constructor(store: LeaseStore, options: LeaderOptions, callbacks: LeaderCallbacks) {
    this.store = store;
    this.options = options;
    this.callbacks = callbacks;
  }

  /** True while this replica holds the Lease. */
  get isLeader(): boolean {
    return this.leader;
  }

  /** Starts trying at once, then every retry period. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.tick();
  }

  /**
   * Stops trying. With `release` (the default; SIGTERM) a leader hands the
   * Lease back so a successor need not wait for it to expire; without it
   * (a crash, in tests) the Lease simply stops being renewed.
   */
  async stop(options: { readonly release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) this.options.clock.clearTimer(this.timer);
    this.timer = null;
    await this.ticking;
    if (!this.leader) return;
    if (options.release ?? true) {
      try {
        const current = await this.store.get();
        if (current !== null && current.record.holderIdentity === this.options.identity) {
          const now = this.options.clock.now();
          await this.store.update(
            {
              ...current.record,
              holderIdentity: '',
              leaseDurationSeconds: 1,
              renewTime: microTime(now),
            },
            current.resourceVersion,
          );
        }
      } catch (err) {
        this.reportError(err);
      }
    }
    this.setLeader(false);
  }

  private tick(): void {
    if (this.stopped) return;
    // attempt() catches the API's errors; this catches what the owner's
    // callbacks throw, so a round never rejects and the timer always re-arms.
    this.ticking = this.attempt()
      .catch((err: unknown) => this.reportError(err))
      .finally(() => {
        this.ticking = null;
        if (!this.stopped) {
          this.timer = this.options.clock.setTimer(() => {
            this.timer = null;
            this.tick();
          }, this.options.retryPeriodMs);
        }
      });
  }

  private async attempt(): Promise<void> {
    let held: boolean;
    try {
      held = await this.tryAcquireOrRenew();
    } catch (err) {
      if (!(err instanceof LeaseConflictError)) this.reportError(err);
      held = false;
    }
    if (this.stopped) return;
    const now = this.options.clock.now();
    if (held) {
      this.lastRenewAt = now;
      this.setLeader(true);
    } else if (this.leader && now - this.lastRenewAt >= this.options.renewDeadlineMs) {
      this.setLeader(false);
    }
  }

  /** One round; true when we hold the Lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const me = this.options.identity;
    const durationSeconds = Math.max(1, Math.ceil(this.options.leaseDurationMs / 1000));
    const now = this.options.clock.now();
    const current = await this.store.get();
    if (current === null) {
      const created = await this.store.create({
        holderIdentity: me,
        leaseDurationSeconds: durationSeconds,
        acquireTime: microTime(now),
        renewTime: microTime(now),
        leaseTransitions: 0,
      });
      this.see(created.record, now);
      return true;
    }
    const record = current.record;
    this.see(record, now);
    const holder = record.holderIdentity;
    if (holder !== '' && holder !== me) {
      if (this.leader) this.setLeader(false); // someone else took it: stop writing now
      if (this.observedAt + record.leaseDurationSeconds * 1000 > now) return false;
    }
    const next: LeaseRecord =
      holder === me
        ? { ...record, leaseDurationSeconds: durationSeconds, renewTime: microTime(now) }
        : {
            holderIdentity: me,
            leaseDurationSeconds: durationSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: record.leaseTransitions + 1,
          };
    const updated = await this.store.update(next, current.resourceVersion);
    this.see(updated.record, now);
    return true;
  }

  private see(record: LeaseRecord, now: number): void {
    const json = JSON.stringify(record);
    if (json !== this.observedJson) {
      this.observedJson = json;
      this.observedAt = now;
    }
  }

  private setLeader(leader: boolean): void {
    if (this.leader === leader) return;
    this.leader = leader;
    try {
      if (leader) this.callbacks.onStartedLeading();
      else this.callbacks.onStoppedLeading();
    } catch (err) {
      this.reportError(err);
    }
  }

  /** Reports through onError; never throws. */
  private reportError(err: unknown): void {
    try {
      this.callbacks.onError?.(err);
    } catch {
      // Nowhere left to report to.
    }
  }
}
