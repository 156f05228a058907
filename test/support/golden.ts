/**
 * Golden files: expected output kept in test/golden/, reviewed as diffs.
 * `UPDATE_GOLDEN=1` rewrites them from the current output instead of
 * comparing; the diff then shows up in the PR for review.
 */
import { AssertionError } from 'node:assert';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/golden, wherever the tests are run from. */
export const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden');

/** True when goldens are being rewritten rather than compared. */
export const UPDATING_GOLDEN = process.env['UPDATE_GOLDEN'] === '1';

/**
 * Compares `actual` with test/golden/<name>, or writes it there when
 * `UPDATE_GOLDEN=1`.
 * @throws AssertionError with a line diff (`-` golden, `+` actual) on mismatch,
 *   or naming the command to create a missing golden.
 */
export async function assertGolden(name: string, actual: string): Promise<void> {
  const path = join(GOLDEN_DIR, name);
  if (UPDATING_GOLDEN) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, actual, 'utf8');
    return;
  }
  let expected: string;
  try {
    expected = await readFile(path, 'utf8');
  } catch {
    throw new AssertionError({
      message: `golden file test/golden/${name} is missing; create it with UPDATE_GOLDEN=1 and review it`,
    });
  }
  if (expected === actual) return;
  throw new AssertionError({
    message: `output differs from test/golden/${name} (- golden, + actual; UPDATE_GOLDEN=1 rewrites it):\n${diffLines(expected, actual)}`,
    operator: 'golden',
  });
}

/**
 * A line diff of two texts with up to 2 lines of context around changes,
 * each hunk headed by `@@ golden line N @@`.
 */
export function diffLines(expected: string, actual: string): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  // Longest common subsequence table; goldens are small.
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () =>
    Array<number>(b.length + 1).fill(0),
  );
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      const row = lcs[i] ?? [];
      row[j] =
        a[i] === b[j]
          ? (lcs[i + 1]?.[j + 1] ?? 0) + 1
          : Math.max(lcs[i + 1]?.[j] ?? 0, row[j + 1] ?? 0);
    }
  }
  type Op = { kind: ' ' | '-' | '+'; text: string; line: number };
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: ' ', text: a[i] ?? '', line: i + 1 });
      i++;
      j++;
    } else if (
      i < a.length &&
      (j >= b.length || (lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0))
    ) {
      ops.push({ kind: '-', text: a[i] ?? '', line: i + 1 });
      i++;
    } else {
      ops.push({ kind: '+', text: b[j] ?? '', line: i + 1 });
      j++;
    }
  }
  const context = 2;
  const keep = ops.map((_, k) =>
    ops.slice(Math.max(0, k - context), k + context + 1).some((o) => o.kind !== ' '),
  );
  const out: string[] = [];
  let inHunk = false;
  ops.forEach((op, k) => {
    if (!keep[k]) {
      inHunk = false;
      return;
    }
    if (!inHunk) out.push(`@@ golden line ${op.line} @@`);
    inHunk = true;
    out.push(`${op.kind} ${op.text}`);
  });
  return out.join('\n');
}
