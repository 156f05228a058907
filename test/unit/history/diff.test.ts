/**
 * The unified diff `nftpol diff` prints: a table of old/new texts with the
 * exact expected output (hunk headers included, checked against what
 * `diff -u` prints for the same inputs), plus a property: applying the line
 * diff to the old text always gives the new text, and it is minimal on
 * small inputs where brute force can tell.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { diffLines, splitLines, unifiedDiff } from '../../../src/history/diff.js';

const lines = (...l: string[]): string => `${l.join('\n')}\n`;

interface Row {
  readonly name: string;
  readonly old: string;
  readonly new: string;
  readonly context?: number;
  readonly want: string;
}

const ROWS: readonly Row[] = [
  { name: 'equal texts give no diff', old: lines('a', 'b'), new: lines('a', 'b'), want: '' },
  {
    name: 'one changed line in the middle shows three lines of context around it',
    old: lines('1', '2', '3', '4', '5', '6', '7', '8', '9'),
    new: lines('1', '2', '3', '4', 'five', '6', '7', '8', '9'),
    want: lines(
      '--- a',
      '+++ b',
      '@@ -2,7 +2,7 @@',
      ' 2',
      ' 3',
      ' 4',
      '-5',
      '+five',
      ' 6',
      ' 7',
      ' 8',
    ),
  },
  {
    name: 'an added line at the end',
    old: lines('a', 'b'),
    new: lines('a', 'b', 'c'),
    want: lines('--- a', '+++ b', '@@ -1,2 +1,3 @@', ' a', ' b', '+c'),
  },
  {
    name: 'everything added to an empty text starts at line 0 of the old side',
    old: '',
    new: lines('x', 'y'),
    want: lines('--- a', '+++ b', '@@ -0,0 +1,2 @@', '+x', '+y'),
  },
  {
    name: 'everything deleted',
    old: lines('x', 'y'),
    new: '',
    want: lines('--- a', '+++ b', '@@ -1,2 +0,0 @@', '-x', '-y'),
  },
  {
    name: 'changes far apart make two hunks',
    old: lines('a', '1', '2', '3', '4', '5', '6', '7', 'b'),
    new: lines('A', '1', '2', '3', '4', '5', '6', '7', 'B'),
    context: 1,
    want: lines(
      '--- a',
      '+++ b',
      '@@ -1,2 +1,2 @@',
      '-a',
      '+A',
      ' 1',
      '@@ -8,2 +8,2 @@',
      ' 7',
      '-b',
      '+B',
    ),
  },
  {
    name: 'changes within twice the context share one hunk',
    old: lines('a', '1', '2', 'b'),
    new: lines('A', '1', '2', 'B'),
    context: 1,
    want: lines('--- a', '+++ b', '@@ -1,4 +1,4 @@', '-a', '+A', ' 1', ' 2', '-b', '+B'),
  },
  {
    name: 'a moved rule is one deletion and one insertion',
    old: lines('r1', 'r2', 'r3'),
    new: lines('r2', 'r3', 'r1'),
    want: lines('--- a', '+++ b', '@@ -1,3 +1,3 @@', '-r1', ' r2', ' r3', '+r1'),
  },
];

function apply(old: readonly string[], ops: ReturnType<typeof diffLines>): string[] {
  const out: string[] = [];
  let i = 0;
  for (const op of ops) {
    if (op.kind === 'insert') out.push(op.text);
    else {
      assert.equal(old[i], op.text);
      i++;
      if (op.kind === 'equal') out.push(op.text);
    }
  }
  assert.equal(i, old.length);
  return out;
}

/** Length of the longest common subsequence, by dynamic programming. */
function lcs(a: readonly string[], b: readonly string[]): number {
  const t = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      t[i]![j] =
        a[i - 1] === b[j - 1] ? t[i - 1]![j - 1]! + 1 : Math.max(t[i - 1]![j]!, t[i]![j - 1]!);
    }
  }
  return t[a.length]![b.length]!;
}

describe('unifiedDiff', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const options = row.context === undefined ? {} : { context: row.context };
      assert.equal(unifiedDiff(row.old, row.new, options), row.want);
    });
  }

  it('names the two sides in the --- and +++ lines', () => {
    const text = unifiedDiff('a\n', 'b\n', { oldLabel: 'n1 rev 1', newLabel: 'n1 rev 2' });
    assert.match(text, /^--- n1 rev 1\n\+\+\+ n1 rev 2\n/);
  });
});

describe('diffLines', () => {
  const text = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 12 });

  it('turns the old lines into the new ones, with as few edits as possible', () => {
    fc.assert(
      fc.property(text, text, (a, b) => {
        const ops = diffLines(a, b);
        assert.deepEqual(apply(a, ops), b);
        const equal = ops.filter((o) => o.kind === 'equal').length;
        assert.equal(equal, lcs(a, b));
      }),
      { numRuns: 500 },
    );
  });

  it('splits text on newlines without an extra empty last line', () => {
    assert.deepEqual(splitLines(''), []);
    assert.deepEqual(splitLines('a\nb\n'), ['a', 'b']);
    assert.deepEqual(splitLines('a\nb'), ['a', 'b']);
    assert.deepEqual(splitLines('\n'), ['']);
  });
});
