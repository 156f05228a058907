/**
 * set-members.ts without a reconciler: the SliceStore (union of a set's
 * slices, invalid members skipped and named, same array while a set is
 * unchanged, a re-targeted watch keeping what it knows until its new list
 * is in, changes recorded for the lag metric only after a list) and
 * planSets (what each referenced set holds, and the bounded wait for sets
 * not seen yet), as tables on a clock passed in.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  planSets,
  referencedSetIds,
  setsStateOf,
  SliceStore,
  type Slice,
} from '../../../src/executor/set-members.js';

const X = 'pods-0123456789abcdef';
const Y = 'port-fedcba9876543210';
const Z = 'pods-1111111111111111';

let rv = 0;
const slice = (setId: string, index: number, members: readonly string[]): Slice => ({
  name: `${setId}-${index}`,
  setId,
  resourceVersion: String(++rv),
  members,
  writtenAtMs: null,
});

describe('SliceStore', () => {
  it('gives a set the union of its slices, in slice order', () => {
    const store = new SliceStore();
    store.upsert(slice(X, 1, ['10.0.0.3']));
    store.upsert(slice(X, 0, ['10.0.0.1', '10.0.0.2']));
    store.upsert(slice(Y, 0, ['10.0.0.7 . tcp . 80']));
    assert.deepEqual(store.members(X), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    assert.deepEqual(store.members(Y), ['10.0.0.7 . tcp . 80']);
    assert.equal(store.has(Z), false);
    assert.deepEqual(store.members(Z), []);
  });

  it('an empty slice makes a set present and empty', () => {
    const store = new SliceStore();
    store.upsert(slice(X, 0, []));
    assert.equal(store.has(X), true);
    assert.deepEqual(store.members(X), []);
  });

  it('skips members that are not of the set kind, naming the slice', () => {
    const store = new SliceStore();
    store.upsert(slice(X, 0, ['10.0.0.1', '10.0.0.300', '10.0.0.7 . tcp . 80']));
    store.upsert(slice(Y, 0, ['10.0.0.7', '10.0.0.7 . tcp . 80']));
    assert.deepEqual(store.members(X), ['10.0.0.1']);
    assert.deepEqual(store.invalid(X), [
      {
        slice: `${X}-0`,
        member: '10.0.0.300',
        message: '"10.0.0.300" is not an IPv4 or IPv6 address',
      },
      {
        slice: `${X}-0`,
        member: '10.0.0.7 . tcp . 80',
        message: '"10.0.0.7 . tcp . 80" is not an IPv4 or IPv6 address',
      },
    ]);
    assert.deepEqual(store.members(Y), ['10.0.0.7 . tcp . 80']);
    assert.deepEqual(
      store.invalid(Y).map((m) => m.message),
      ['"10.0.0.7" is not <address> . <protocol> . <port>'],
    );
  });

  it('answers with the same array until a slice of the set changes', () => {
    const store = new SliceStore();
    store.upsert(slice(X, 0, ['10.0.0.1']));
    store.upsert(slice(Y, 0, ['10.0.0.7 . tcp . 80']));
    const x = store.members(X);
    const y = store.members(Y);
    assert.equal(store.upsert(slice(X, 0, ['10.0.0.2'])), true);
    assert.equal(store.members(Y), y, 'Y untouched');
    assert.notEqual(store.members(X), x);
    const x2 = store.members(X);
    assert.equal(store.upsert(slice(X, 0, ['10.0.0.2'])), false, 'same members, new version');
    assert.equal(store.members(X), x2);
  });

  it('ignores a repeated resourceVersion and a slice whose set id is no set id', () => {
    const store = new SliceStore();
    const s = slice(X, 0, ['10.0.0.1']);
    assert.equal(store.upsert(s), true);
    assert.equal(store.upsert({ ...s }), false);
    assert.equal(store.upsert({ ...slice('nonsense', 0, ['10.0.0.1']) }), false);
    assert.equal(store.has('nonsense'), false);
  });

  it('forgets a deleted slice; a set without slices is missing again', () => {
    const store = new SliceStore();
    store.upsert(slice(X, 0, ['10.0.0.1']));
    store.upsert(slice(X, 1, ['10.0.0.2']));
    assert.equal(store.remove(`${X}-1`), true);
    assert.deepEqual(store.members(X), ['10.0.0.1']);
    store.remove(`${X}-0`);
    assert.equal(store.has(X), false);
    assert.equal(store.remove(`${X}-0`), false);
  });

  it('on a re-target keeps what the new watch selects until its list is in, then drops what the list lacked', () => {
    const store = new SliceStore();
    store.upsert(slice(X, 0, ['10.0.0.1']));
    store.upsert(slice(X, 1, ['10.0.0.2']));
    store.upsert(slice(Y, 0, ['10.0.0.7 . tcp . 80']));
    store.retarget(new Set([X, Z]));
    assert.equal(store.listed, false);
    assert.equal(store.has(Y), false, 'no longer watched');
    assert.deepEqual(store.members(X), ['10.0.0.1', '10.0.0.2'], 'kept until the list');
    store.upsert(slice(X, 0, ['10.0.0.1']));
    store.upsert(slice(Z, 0, ['10.0.0.9']));
    store.listCompleted();
    assert.equal(store.listed, true);
    assert.deepEqual(store.members(X), ['10.0.0.1'], 'slice 1 was not in the new list');
    assert.deepEqual(store.members(Z), ['10.0.0.9']);
  });

  it('records changed slices for the lag only once a list is complete', () => {
    const store = new SliceStore();
    store.retarget(new Set([X]));
    store.upsert(slice(X, 0, ['10.0.0.1']));
    store.listCompleted();
    assert.deepEqual(store.takeChanged(), [], 'what the list brought is no change');
    const changed = slice(X, 0, ['10.0.0.2']);
    store.upsert(changed);
    assert.deepEqual(store.takeChanged(), [changed]);
    assert.deepEqual(store.takeChanged(), [], 'taken');
  });
});

describe('referencedSetIds', () => {
  it('sorts, dedups and drops what is not a set id', () => {
    assert.deepEqual(referencedSetIds({ addressSets: [Y, X, 'x,y', X, 'pods-ABC'] }), [X, Y]);
    assert.deepEqual(referencedSetIds({}), []);
    assert.deepEqual(referencedSetIds(null), []);
  });
});

describe('planSets', () => {
  const store = new SliceStore();
  store.upsert(slice(X, 0, ['10.0.0.1']));
  const base = {
    ids: [X, Z],
    view: store,
    missingSince: new Map<string, number>(),
    inKernel: null,
    nowMs: 5000,
    setWaitMs: 1000,
  };

  const ROWS: ReadonlyArray<{
    name: string;
    over: Partial<Parameters<typeof planSets>[0]>;
    members: Record<string, readonly string[]>;
    missing: readonly string[];
    waitUntil: number | null;
    state: string;
  }> = [
    {
      name: 'every set present: their members, nothing awaited',
      over: { ids: [X] },
      members: { [X]: ['10.0.0.1'] },
      missing: [],
      waitUntil: null,
      state: 'ready',
    },
    {
      name: 'a set seen missing now: awaited for set-wait-ms, empty meanwhile when not in the kernel',
      over: {},
      members: { [X]: ['10.0.0.1'], [Z]: [] },
      missing: [Z],
      waitUntil: 6000,
      state: 'waiting',
    },
    {
      name: 'a missing set keeps its members in the kernel while awaited',
      over: { inKernel: new Map([[Z, ['10.0.0.9']]]) },
      members: { [X]: ['10.0.0.1'], [Z]: ['10.0.0.9'] },
      missing: [Z],
      waitUntil: 6000,
      state: 'waiting',
    },
    {
      name: 'a missing set whose wait is over is empty and reported',
      over: {
        missingSince: new Map([[Z, 4000]]),
        inKernel: new Map([[Z, ['10.0.0.9']]]),
      },
      members: { [X]: ['10.0.0.1'], [Z]: [] },
      missing: [Z],
      waitUntil: null,
      state: 'missing',
    },
    {
      name: 'the wait ends with the last missing set still awaited',
      over: { ids: [X, Z, 'pods-2222222222222222'], missingSince: new Map([[Z, 4500]]) },
      members: { [X]: ['10.0.0.1'], [Z]: [], 'pods-2222222222222222': [] },
      missing: [Z, 'pods-2222222222222222'],
      waitUntil: 6000,
      state: 'waiting',
    },
    {
      name: 'no wait at all with set-wait-ms 0',
      over: { setWaitMs: 0 },
      members: { [X]: ['10.0.0.1'], [Z]: [] },
      missing: [Z],
      waitUntil: null,
      state: 'missing',
    },
  ];
  for (const row of ROWS) {
    it(row.name, () => {
      const plan = planSets({ ...base, ...row.over });
      assert.deepEqual(Object.fromEntries(plan.members), row.members);
      assert.deepEqual(plan.missing, row.missing);
      assert.equal(plan.waitUntil, row.waitUntil);
      assert.equal(setsStateOf(plan)?.kind ?? 'waiting', row.state);
      assert.deepEqual([...plan.missingSince.keys()], row.missing, 'only missing sets are tracked');
    });
  }

  it('keeps the time a set was first found missing, and forgets it once the set is there', () => {
    const first = planSets({ ...base, nowMs: 5000 });
    const later = planSets({ ...base, nowMs: 5600, missingSince: first.missingSince });
    assert.equal(later.missingSince.get(Z), 5000);
    assert.equal(later.nextDeadline, 6000);
    const s = new SliceStore();
    s.upsert(slice(X, 0, []));
    s.upsert(slice(Z, 0, []));
    const arrived = planSets({ ...base, view: s, missingSince: later.missingSince });
    assert.equal(arrived.missingSince.size, 0);
  });

  it('a timer firing a little early still ends the wait (slack)', () => {
    const plan = planSets({
      ...base,
      nowMs: 5990,
      missingSince: new Map([[Z, 5000]]),
      slackMs: 20,
    });
    assert.equal(plan.waitUntil, null);
  });

  it('reports invalid members of referenced sets, and not of others', () => {
    const s = new SliceStore();
    s.upsert(slice(X, 0, ['bad']));
    s.upsert(slice(Z, 0, ['also-bad']));
    const plan = planSets({ ...base, ids: [X], view: s });
    assert.deepEqual(
      plan.invalid.map((m) => m.member),
      ['bad'],
    );
    assert.equal(setsStateOf(plan)?.kind, 'invalid');
  });
});
