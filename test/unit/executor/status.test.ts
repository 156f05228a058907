/**
 * conditionsFor as a table (outcome → the five conditions), then the
 * transition-time rule: lastTransitionTime moves only when a condition's
 * status changes, whatever happens to its reason or message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  conditionsFor,
  firstLines,
  statusFor,
  type Outcome,
} from '../../../src/executor/status.js';

const H = 'sha256:' + 'a'.repeat(64);
const T0 = new Date('2030-01-01T00:00:00Z');
const T1 = new Date('2030-01-01T00:05:00Z');
const usable = { usable: true } as const;

const ROWS: ReadonlyArray<{
  readonly name: string;
  readonly outcome: Outcome;
  readonly want: string[];
}> = [
  {
    name: 'an applied script on a usable host in sync is Ready',
    outcome: { host: usable, apply: { kind: 'applied', hash: H }, sync: { kind: 'inSync' } },
    want: [
      'Applied=True/Applied',
      'InSync=True/InSync',
      'SetsReady=True/SetsReady',
      'HostUsable=True/HostUsable',
      'Ready=True/Ready',
    ],
  },
  {
    name: 'a rejected script is ApplyFailed and not Ready',
    outcome: {
      host: usable,
      apply: { kind: 'failed', hash: H, error: 'Error: x' },
      sync: { kind: 'inSync' },
    },
    want: [
      'Applied=False/ApplyFailed',
      'InSync=True/InSync',
      'SetsReady=True/SetsReady',
      'HostUsable=True/HostUsable',
      'Ready=False/NotApplied',
    ],
  },
  {
    name: 'a hash mismatch is HashMismatch and not Ready',
    outcome: {
      host: usable,
      apply: { kind: 'hashMismatch', declared: H, actual: 'sha256:b' },
      sync: { kind: 'unknown' },
    },
    want: [
      'Applied=False/HashMismatch',
      'InSync=Unknown/NotChecked',
      'SetsReady=True/SetsReady',
      'HostUsable=True/HostUsable',
      'Ready=False/NotApplied',
    ],
  },
  {
    name: 'a scriptGzip that does not decode is DecodeFailed and not Ready',
    outcome: {
      host: usable,
      apply: { kind: 'decodeFailed', message: 'spec.scriptGzip is not valid base64' },
      sync: { kind: 'inSync' },
    },
    want: [
      'Applied=False/DecodeFailed',
      'InSync=True/InSync',
      'SetsReady=True/SetsReady',
      'HostUsable=True/HostUsable',
      'Ready=False/NotApplied',
    ],
  },
  {
    name: 'a drifted table is InSync=False and not Ready',
    outcome: {
      host: usable,
      apply: { kind: 'applied', hash: H },
      sync: { kind: 'drifted', summary: 'rules in x: 1 removed' },
    },
    want: [
      'Applied=True/Applied',
      'InSync=False/Drifted',
      'SetsReady=True/SetsReady',
      'HostUsable=True/HostUsable',
      'Ready=False/NotApplied',
    ],
  },
  {
    name: 'a repaired table is InSync=True/Repaired and Ready',
    outcome: {
      host: usable,
      apply: { kind: 'applied', hash: H },
      sync: { kind: 'repaired', summary: 'table inet nftpol is missing' },
    },
    want: [
      'Applied=True/Applied',
      'InSync=True/Repaired',
      'SetsReady=True/SetsReady',
      'HostUsable=True/HostUsable',
      'Ready=True/Ready',
    ],
  },
  {
    name: 'an unusable host is HostUnusable whatever else holds',
    outcome: {
      host: { usable: false, message: 'nft not found' },
      apply: { kind: 'notAttempted', why: 'host' },
      sync: { kind: 'unknown' },
    },
    want: [
      'Applied=Unknown/NotAttempted',
      'InSync=Unknown/NotChecked',
      'SetsReady=True/SetsReady',
      'HostUsable=False/HostUnusable',
      'Ready=False/HostUnusable',
    ],
  },
  {
    name: 'a host not probed yet is Unknown',
    outcome: {
      host: { usable: 'unknown' },
      apply: { kind: 'notAttempted', why: 'probe' },
      sync: { kind: 'unknown' },
    },
    want: [
      'Applied=Unknown/NotAttempted',
      'InSync=Unknown/NotChecked',
      'SetsReady=True/SetsReady',
      'HostUsable=Unknown/NotProbed',
      'Ready=False/NotApplied',
    ],
  },
  {
    name: 'AddressSets missing after the wait are SetsMissing and not Ready',
    outcome: {
      host: usable,
      apply: { kind: 'applied', hash: H },
      sync: { kind: 'inSync' },
      sets: { kind: 'missing', ids: ['pods-0123456789abcdef'], invalid: [] },
    },
    want: [
      'Applied=True/Applied',
      'InSync=True/InSync',
      'SetsReady=False/SetsMissing',
      'HostUsable=True/HostUsable',
      'Ready=False/SetsMissing',
    ],
  },
  {
    name: 'skipped members are InvalidMembers and not Ready',
    outcome: {
      host: usable,
      apply: { kind: 'applied', hash: H },
      sync: { kind: 'inSync' },
      sets: {
        kind: 'invalid',
        invalid: [{ slice: 's-0', member: 'x', message: '"x" is not an IPv4 or IPv6 address' }],
      },
    },
    want: [
      'Applied=True/Applied',
      'InSync=True/InSync',
      'SetsReady=False/InvalidMembers',
      'HostUsable=True/HostUsable',
      'Ready=False/InvalidMembers',
    ],
  },
  {
    name: 'a script not applied is NotApplied whatever the sets say',
    outcome: {
      host: usable,
      apply: { kind: 'failed', hash: H, error: 'Error: x' },
      sync: { kind: 'inSync' },
      sets: { kind: 'missing', ids: ['pods-0123456789abcdef'], invalid: [] },
    },
    want: [
      'Applied=False/ApplyFailed',
      'InSync=True/InSync',
      'SetsReady=False/SetsMissing',
      'HostUsable=True/HostUsable',
      'Ready=False/NotApplied',
    ],
  },
];

const brief = (cs: ReturnType<typeof conditionsFor>) =>
  cs.map((c) => `${c.type}=${c.status}/${c.reason}`);

describe('conditionsFor', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const cs = conditionsFor(row.outcome, 7, T0);
      assert.deepEqual(brief(cs), row.want);
      assert.ok(
        cs.every(
          (c) => c.observedGeneration === 7 && c.lastTransitionTime === '2030-01-01T00:00:00Z',
        ),
      );
      assert.ok(cs.every((c) => c.message.length > 0));
    });
  }

  it('keeps lastTransitionTime when only the reason or message changes', () => {
    const drifted: Outcome = {
      host: usable,
      apply: { kind: 'applied', hash: H },
      sync: { kind: 'inSync' },
    };
    const before = conditionsFor(drifted, 1, T0);
    const after = conditionsFor(
      { ...drifted, sync: { kind: 'repaired', summary: 's' } },
      2,
      T1,
      before,
    );
    const inSync = after.find((c) => c.type === 'InSync')!;
    assert.equal(inSync.reason, 'Repaired');
    assert.equal(inSync.lastTransitionTime, '2030-01-01T00:00:00Z');
    assert.equal(inSync.observedGeneration, 2);
  });

  it('moves lastTransitionTime of exactly the conditions whose status changed', () => {
    const ok: Outcome = {
      host: usable,
      apply: { kind: 'applied', hash: H },
      sync: { kind: 'inSync' },
    };
    const before = conditionsFor(ok, 1, T0);
    const after = conditionsFor(
      { ...ok, apply: { kind: 'failed', hash: H, error: 'e' } },
      2,
      T1,
      before,
    );
    const times = Object.fromEntries(after.map((c) => [c.type, c.lastTransitionTime]));
    assert.deepEqual(times, {
      Applied: '2030-01-01T00:05:00Z',
      InSync: '2030-01-01T00:00:00Z',
      SetsReady: '2030-01-01T00:00:00Z',
      HostUsable: '2030-01-01T00:00:00Z',
      Ready: '2030-01-01T00:05:00Z',
    });
  });

  it('says the previous ruleset stays in force and quotes only the first lines of nft error', () => {
    const error = Array.from({ length: 40 }, (_, i) => `Error: line ${i}`).join('\n');
    const cs = conditionsFor(
      { host: usable, apply: { kind: 'failed', hash: H, error }, sync: { kind: 'inSync' } },
      1,
      T0,
    );
    const message = cs.find((c) => c.type === 'Applied')!.message;
    assert.match(message, /previous ruleset stays in force/);
    assert.match(message, /line 4\n… \(35 more lines\)$/);
    assert.doesNotMatch(message, /line 5\b/);
  });
});

describe('firstLines', () => {
  it('cuts a single very long line to a bounded length', () => {
    assert.ok(firstLines('x'.repeat(100_000)).length <= 1001);
  });
});

describe('statusFor', () => {
  it('fills observedGeneration, appliedHash, lastAppliedTime and nftVersion', () => {
    const status = statusFor(
      { host: usable, apply: { kind: 'applied', hash: H }, sync: { kind: 'inSync' } },
      {
        generation: 3,
        appliedHash: H,
        lastAppliedTime: new Date('2030-01-01T00:00:00.456Z'),
        nftVersion: 'v1.0.6',
        now: T1,
        previous: [],
      },
    );
    assert.equal(status.observedGeneration, 3);
    assert.equal(status.appliedHash, H);
    assert.equal(status.lastAppliedTime, '2030-01-01T00:00:00Z');
    assert.equal(status.nftVersion, 'v1.0.6');
    assert.equal(status.conditions?.length, 5);
  });

  it('leaves out what is not known', () => {
    const status = statusFor(
      { host: usable, apply: { kind: 'notAttempted', why: 'x' }, sync: { kind: 'unknown' } },
      {
        generation: 1,
        appliedHash: null,
        lastAppliedTime: null,
        nftVersion: null,
        now: T1,
        previous: [],
      },
    );
    assert.deepEqual(Object.keys(status).sort(), ['conditions', 'observedGeneration']);
  });

  it('names at most 10 missing sets, and the slice and member of what was skipped', () => {
    const ids = Array.from({ length: 12 }, (_, i) => `pods-${String(i).padStart(16, '0')}`);
    const cs = conditionsFor(
      {
        host: usable,
        apply: { kind: 'applied', hash: H },
        sync: { kind: 'inSync' },
        sets: {
          kind: 'missing',
          ids,
          invalid: [
            {
              slice: 'pods-0000000000000000-0',
              member: '10.0.0.300',
              message: '"10.0.0.300" is not an IPv4 or IPv6 address',
            },
          ],
        },
      },
      1,
      T0,
    );
    const message = cs.find((c) => c.type === 'SetsReady')!.message;
    assert.equal(
      message,
      `12 AddressSets not found after waiting, loaded empty (their peers match nothing until they arrive): ${ids.slice(0, 10).join(', ')}, and 2 more; skipped 1 invalid member: slice pods-0000000000000000-0: "10.0.0.300" is not an IPv4 or IPv6 address`,
    );
  });
});
