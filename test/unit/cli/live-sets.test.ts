/**
 * live-sets: AddressSet slices as listed → slices per set (label and
 * spec.setId must agree, as the executor selects by one and groups by the
 * other), the sets with no slice, a member's slice, and the one line said
 * when the AddressSets could not be read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  membershipOf,
  missingSetsOf,
  setIdOfSlice,
  slicesBySet,
  unreadableLine,
  type AddressSetObject,
  type LiveMembership,
} from '../../../src/cli/live-sets.js';

const A = 'pods-aaaaaaaaaaaaaaaa';
const B = 'port-bbbbbbbbbbbbbbbb';
const C = 'pods-cccccccccccccccc';

function slice(
  name: string,
  label: string | undefined,
  setId: string | undefined,
  members?: string[],
): AddressSetObject {
  return {
    metadata: { name, ...(label === undefined ? {} : { labels: { 'nftpol.io/set': label } }) },
    spec: {
      ...(setId === undefined ? {} : { setId }),
      ...(members === undefined ? {} : { members }),
    },
  };
}

describe('setIdOfSlice', () => {
  const rows: [string, AddressSetObject, string | null][] = [
    ['label and spec.setId agree', slice(`${A}-0`, A, A), A],
    ['no label: the executor never sees it', slice(`${A}-0`, undefined, A), null],
    ['label and spec.setId disagree', slice(`${A}-0`, A, C), null],
    ['no spec.setId', slice(`${A}-0`, A, undefined), null],
  ];
  for (const [name, object, want] of rows) {
    it(`${name}: ${String(want)}`, () => assert.equal(setIdOfSlice(object), want));
  }
});

describe('membershipOf and missingSetsOf', () => {
  const bySet = slicesBySet([
    slice(`${A}-1`, A, A, ['10.0.0.9', '10.0.0.7']),
    slice(`${A}-0`, A, A, ['10.0.0.7']),
    slice(`${B}-0`, B, B),
  ]);
  const rows: [string, string, string, LiveMembership][] = [
    [
      'a member names the first slice holding it',
      A,
      '10.0.0.7',
      { kind: 'member', slice: `${A}-0` },
    ],
    ['a member of a later slice', A, '10.0.0.9', { kind: 'member', slice: `${A}-1` }],
    ['not in any slice', A, '10.0.0.8', { kind: 'absent', slices: 2 }],
    [
      'a slice without members holds nothing',
      B,
      '10.0.0.7 . tcp . 80',
      { kind: 'absent', slices: 1 },
    ],
    ['a set with no slice', C, '10.0.0.7', { kind: 'no-set' }],
  ];
  for (const [name, setId, member, want] of rows) {
    it(name, () => assert.deepEqual(membershipOf(bySet, setId, member), want));
  }

  it('lists the named sets with no slice, in the order named', () => {
    assert.deepEqual(missingSetsOf([C, A, 'pods-0000000000000000', B], bySet), [
      C,
      'pods-0000000000000000',
    ]);
    assert.deepEqual(missingSetsOf([], bySet), []);
  });
});

describe('unreadableLine', () => {
  it('is one line when the AddressSets could not be read, and null otherwise', () => {
    assert.equal(
      unreadableLine({ kind: 'unreadable', why: 'the AddressSet CRD is not installed (404)' }, 'x'),
      'AddressSets not read (the AddressSet CRD is not installed (404)): x',
    );
    assert.equal(unreadableLine({ kind: 'listed', slices: [] }, 'x'), null);
    assert.equal(unreadableLine(null, 'x'), null);
  });
});
