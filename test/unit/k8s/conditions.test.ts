import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_CONDITION_MESSAGE,
  findCondition,
  isConditionTrue,
  removeCondition,
  setCondition,
  type Condition,
  type ConditionUpdate,
} from '../../../src/k8s/conditions.js';

const T0 = new Date('2024-05-01T10:00:00.500Z');
const T1 = new Date('2024-05-01T11:00:00Z');

const applied = (
  status: Condition['status'],
  reason = 'Applied',
  message = '',
): ConditionUpdate => ({
  type: 'Applied',
  status,
  reason,
  message,
  observedGeneration: 3,
});

describe('setCondition', () => {
  const rows: readonly {
    name: string;
    before: readonly ConditionUpdate[];
    update: ConditionUpdate;
    wantTransition: string;
    wantReason: string;
  }[] = [
    {
      name: 'a new type is added with lastTransitionTime now (seconds precision)',
      before: [],
      update: applied('True'),
      wantTransition: '2024-05-01T11:00:00Z',
      wantReason: 'Applied',
    },
    {
      name: 'the same status keeps lastTransitionTime but takes the new reason and message',
      before: [applied('False', 'ApplyFailed')],
      update: applied('False', 'HashMismatch', 'hash differs'),
      wantTransition: '2024-05-01T10:00:00Z',
      wantReason: 'HashMismatch',
    },
    {
      name: 'a status change moves lastTransitionTime',
      before: [applied('False', 'ApplyFailed')],
      update: applied('True'),
      wantTransition: '2024-05-01T11:00:00Z',
      wantReason: 'Applied',
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const before = row.before.reduce<readonly Condition[]>(
        (acc, u) => setCondition(acc, u, T0),
        [],
      );
      const after = setCondition(before, row.update, T1);
      const got = findCondition(after, 'Applied');
      assert.equal(got?.lastTransitionTime, row.wantTransition);
      assert.equal(got?.reason, row.wantReason);
      assert.equal(got?.observedGeneration, 3);
      assert.equal(after.length, 1, 'one entry per type');
    });
  }

  it('keeps the position of other conditions and does not mutate its input', () => {
    const ready: ConditionUpdate = { type: 'Ready', status: 'True', reason: 'Ready', message: '' };
    const before = setCondition(setCondition([], applied('True'), T0), ready, T0);
    const frozen = structuredClone(before);
    const after = setCondition(before, applied('False', 'ApplyFailed'), T1);
    assert.deepEqual(
      after.map((c) => c.type),
      ['Applied', 'Ready'],
    );
    assert.deepEqual(before, frozen);
    assert.equal(isConditionTrue(after, 'Ready'), true);
    assert.equal(isConditionTrue(after, 'Applied'), false);
    assert.deepEqual(
      removeCondition(after, 'Ready').map((c) => c.type),
      ['Applied'],
    );
  });

  it('truncates a message longer than the API limit and marks the cut', () => {
    const long = 'x'.repeat(MAX_CONDITION_MESSAGE + 10);
    const [got] = setCondition([], applied('False', 'ApplyFailed', long), T0);
    assert.equal(Array.from(got?.message ?? '').length, MAX_CONDITION_MESSAGE);
    assert.match(got?.message ?? '', /truncated\)$/);
  });

  it('omits observedGeneration when not given', () => {
    const [got] = setCondition(
      [],
      { type: 'InSync', status: 'Unknown', reason: 'NotChecked', message: '' },
      T0,
    );
    assert.equal(got !== undefined && 'observedGeneration' in got, false);
  });

  it('rejects a reason the API server would refuse', () => {
    assert.throws(() => setCondition([], applied('True', 'not camel case'), T0), TypeError);
  });
});
