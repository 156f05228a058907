/**
 * Leader election with client-go's semantics, on a fake clock and an
 * in-memory Lease store that behaves like the API (resourceVersions, 409 on
 * a stale write or a create race): acquire, renew, expiry measured on the
 * candidate's own clock, the renew deadline, a lost race, and release.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LeaderElector } from '../../../src/controller/leader.js';
import {
  LeaseConflictError,
  type LeaseRecord,
  type LeaseStore,
  type StoredLease,
} from '../../../src/k8s/lease.js';
import { FakeClock } from '../../support/fake-clock.js';

/** One Lease object with optimistic concurrency, shared by every candidate. */
class MemoryLease {
  stored: StoredLease | null = null;
  private version = 0;
  /** Make every call fail (an API outage) while true. */
  down = false;
  /** Called before each write reaches the object (to inject a concurrent writer). */
  beforeWrite: (() => void) | undefined;
  writes = 0;

  storeFor(): LeaseStore {
    const check = (): void => {
      if (this.down) throw new Error('connect ECONNREFUSED');
    };
    return {
      get: () => {
        check();
        return Promise.resolve(this.stored);
      },
      create: (record) => {
        check();
        this.beforeWrite?.();
        if (this.stored !== null) return Promise.reject(new LeaseConflictError('already exists'));
        return Promise.resolve(this.put(record));
      },
      update: (record, resourceVersion) => {
        check();
        this.beforeWrite?.();
        if (this.stored?.resourceVersion !== resourceVersion)
          return Promise.reject(new LeaseConflictError('the object has been modified'));
        return Promise.resolve(this.put(record));
      },
    };
  }

  /** A write by someone else (another replica, or a person with kubectl). */
  put(record: LeaseRecord): StoredLease {
    this.writes++;
    this.stored = { record, resourceVersion: String(++this.version) };
    return this.stored;
  }

  get holder(): string | undefined {
    return this.stored?.record.holderIdentity;
  }
}

const OPTIONS = { leaseDurationMs: 1_000, renewDeadlineMs: 600, retryPeriodMs: 100 };

/** A candidate on `clock` over `lease`, recording its transitions. */
function candidate(identity: string, lease: MemoryLease, clock: FakeClock) {
  const events: string[] = [];
  const errors: unknown[] = [];
  const elector = new LeaderElector(
    lease.storeFor(),
    { ...OPTIONS, identity, clock },
    {
      onStartedLeading: () => events.push('started'),
      onStoppedLeading: () => events.push('stopped'),
      onError: (err) => errors.push(err),
    },
  );
  return { elector, events, errors };
}

describe('LeaderElector', () => {
  it('creates the Lease when absent, leads, and renews every retry period', async () => {
    const clock = new FakeClock();
    const lease = new MemoryLease();
    const a = candidate('a', lease, clock);
    a.elector.start();
    await clock.advance(0);
    assert.equal(a.elector.isLeader, true);
    assert.deepEqual(a.events, ['started']);
    assert.equal(lease.holder, 'a');
    assert.equal(lease.stored?.record.leaseDurationSeconds, 1);
    assert.match(lease.stored?.record.renewTime ?? '', /^\d{4}-.*\.\d{6}Z$/);
    const writes = lease.writes;
    await clock.advance(500);
    assert.equal(lease.writes - writes, 5, 'one renewal per 100 ms');
    await a.elector.stop({ release: false });
  });

  it('a second candidate waits while the holder renews, and takes over once the Lease is not renewed for its duration', async () => {
    const clock = new FakeClock();
    const lease = new MemoryLease();
    const a = candidate('a', lease, clock);
    const b = candidate('b', lease, clock);
    a.elector.start();
    await clock.advance(0);
    b.elector.start();
    await clock.advance(2_000);
    assert.equal(b.elector.isLeader, false, 'never while a renews');
    assert.equal(lease.holder, 'a');

    await a.elector.stop({ release: false }); // a crash
    const crashedAt = clock.now();
    await clock.advance(900);
    assert.equal(b.elector.isLeader, false, 'not before the lease duration');
    await clock.advance(300);
    assert.equal(b.elector.isLeader, true);
    assert.equal(lease.holder, 'b');
    assert.equal(lease.stored?.record.leaseTransitions, 1);
    assert.ok(clock.now() - crashedAt <= OPTIONS.leaseDurationMs + 2 * OPTIONS.retryPeriodMs);
    await b.elector.stop({ release: false });
  });

  it('expiry is measured on the candidate clock from when it saw the record change, not from renewTime', async () => {
    const clock = new FakeClock();
    const lease = new MemoryLease();
    // Another replica's renewTime from far in the past (its clock is skewed).
    lease.put({
      holderIdentity: 'skewed',
      leaseDurationSeconds: 1,
      acquireTime: '2000-01-01T00:00:00.000000Z',
      renewTime: '2000-01-01T00:00:00.000000Z',
      leaseTransitions: 0,
    });
    const b = candidate('b', lease, clock);
    b.elector.start();
    await clock.advance(500);
    assert.equal(b.elector.isLeader, false, 'a fresh observation is trusted for the duration');
    await clock.advance(700);
    assert.equal(b.elector.isLeader, true);
    await b.elector.stop({ release: false });
  });

  it('a leader that cannot renew for the renew deadline steps down, and leads again when the API returns', async () => {
    const clock = new FakeClock();
    const lease = new MemoryLease();
    const a = candidate('a', lease, clock);
    a.elector.start();
    await clock.advance(0);
    lease.down = true;
    await clock.advance(500);
    assert.equal(a.elector.isLeader, true, 'still within the renew deadline');
    await clock.advance(200);
    assert.equal(a.elector.isLeader, false);
    assert.ok(a.errors.length > 0, 'each failed round is reported');
    lease.down = false;
    await clock.advance(100);
    assert.equal(a.elector.isLeader, true, 'its own Lease is renewed at once');
    assert.deepEqual(a.events, ['started', 'stopped', 'started']);
    await a.elector.stop({ release: false });
  });

  it('a leader that sees another holder stops leading at once', async () => {
    const clock = new FakeClock();
    const lease = new MemoryLease();
    const a = candidate('a', lease, clock);
    a.elector.start();
    await clock.advance(0);
    lease.put({ ...lease.stored!.record, holderIdentity: 'intruder' });
    await clock.advance(100);
    assert.equal(a.elector.isLeader, false);
    assert.deepEqual(a.events, ['started', 'stopped']);
    await a.elector.stop({ release: false });
  });

  it('of two candidates racing for an expired Lease, the one whose write comes second gets 409 and does not lead', async () => {
    const clock = new FakeClock();
    const lease = new MemoryLease();
    lease.put({
      holderIdentity: 'gone',
      leaseDurationSeconds: 1,
      acquireTime: null,
      renewTime: null,
      leaseTransitions: 3,
    });
    const b = candidate('b', lease, clock);
    b.elector.start();
    await clock.advance(900);
    // Just before b's takeover write, c takes the Lease.
    lease.beforeWrite = () => {
      lease.beforeWrite = undefined;
      lease.put({ ...lease.stored!.record, holderIdentity: 'c', leaseTransitions: 4 });
    };
    await clock.advance(300);
    assert.equal(b.elector.isLeader, false);
    assert.equal(lease.holder, 'c');
    assert.deepEqual(b.errors, [], 'a lost race is not an error');
    await b.elector.stop({ release: false });
  });

  it('stop with release hands the Lease back so a successor takes over at once', async () => {
    const clock = new FakeClock();
    const lease = new MemoryLease();
    const a = candidate('a', lease, clock);
    const b = candidate('b', lease, clock);
    a.elector.start();
    await clock.advance(0);
    b.elector.start();
    await clock.advance(100);
    await a.elector.stop();
    assert.equal(lease.holder, '');
    assert.deepEqual(a.events, ['started', 'stopped']);
    await clock.advance(100);
    assert.equal(b.elector.isLeader, true, 'no wait for the lease duration');
    await b.elector.stop();
    assert.equal(lease.holder, '');
  });
});
