/**
 * A unified line diff of two scripts, as `nftpol diff` prints it. PURE: the
 * history stores whole scripts and the diff is computed when read, so any
 * two revisions can be compared and a lost entry spoils nothing.
 *
 * Myers' O((N+M)·D) algorithm on what remains after the common prefix and
 * suffix are cut (a script change is usually a few lines in the middle). A
 * change larger than {@link MAX_EDIT_DISTANCE} lines falls back to "delete
 * the middle, insert the middle", still a correct diff, to keep time and
 * memory bounded on a completely rewritten script.
 */

/** One line of a diff. */
export interface DiffLine {
  readonly kind: 'equal' | 'delete' | 'insert';
  readonly text: string;
}

/** Options of {@link unifiedDiff}. */
export interface UnifiedDiffOptions {
  /** Label of the `---` line. @default "a" */
  readonly oldLabel?: string;
  /** Label of the `+++` line. @default "b" */
  readonly newLabel?: string;
  /** Unchanged lines shown around each change. @default 3 */
  readonly context?: number;
}

/** Edit distance beyond which {@link diffLines} stops searching for a minimal diff. */
export const MAX_EDIT_DISTANCE = 2000;

/** The lines of `text`; a final newline does not make an extra empty line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The shortest edit turning `a` into `b` (minimal up to {@link MAX_EDIT_DISTANCE}). */
export function diffLines(a: readonly string[], b: readonly string[]): DiffLine[] {
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  let suffix = 0;
  while (
    suffix < a.length - prefix &&
    suffix < b.length - prefix &&
    a[a.length - 1 - suffix] === b[b.length - 1 - suffix]
  ) {
    suffix++;
  }
  const equal = (lines: readonly string[]): DiffLine[] =>
    lines.map((text) => ({ kind: 'equal', text }));
  return [
    ...equal(a.slice(0, prefix)),
    ...myers(a.slice(prefix, a.length - suffix), b.slice(prefix, b.length - suffix)),
    ...equal(a.slice(a.length - suffix)),
  ];
}

function myers(a: readonly string[], b: readonly string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  const replaceAll = (): DiffLine[] => [
    ...a.map((text) => ({ kind: 'delete' as const, text })),
    ...b.map((text) => ({ kind: 'insert' as const, text })),
  ];
  if (n === 0 || m === 0) return replaceAll();
  const max = Math.min(n + m, MAX_EDIT_DISTANCE);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  // trace[d] holds v over diagonals [-d-1, d+1] as it was before step d.
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!)
          ? v[offset + k + 1]!
          : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(a, b, trace);
    }
  }
  return replaceAll();
}

function backtrack(a: readonly string[], b: readonly string[], trace: Int32Array[]): DiffLine[] {
  const out: DiffLine[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d >= 0; d--) {
    const snapshot = trace[d]!;
    const at = (k: number): number => snapshot[k + d + 1]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : at(prevK);
    const prevY = d === 0 ? 0 : prevX - prevK;
    while (x > prevX && y > prevY) {
      out.push({ kind: 'equal', text: a[x - 1]! });
      x--;
      y--;
    }
    if (d > 0) {
      if (x === prevX) out.push({ kind: 'insert', text: b[y - 1]! });
      else out.push({ kind: 'delete', text: a[x - 1]! });
    }
    x = prevX;
    y = prevY;
  }
  return out.reverse();
}

/**
 * The unified diff (`diff -u` format) of two texts, or the empty string when
 * they are equal.
 */
export function unifiedDiff(
  oldText: string,
  newText: string,
  options: UnifiedDiffOptions = {},
): string {
  const context = options.context ?? 3;
  const lines = diffLines(splitLines(oldText), splitLines(newText));
  const changes = lines.flatMap((l, i) => (l.kind === 'equal' ? [] : [i]));
  if (changes.length === 0) return '';
  // Line numbers (0-based) in the old and new text before each diff line.
  const oldAt: number[] = [];
  const newAt: number[] = [];
  let o = 0;
  let n = 0;
  for (const l of lines) {
    oldAt.push(o);
    newAt.push(n);
    if (l.kind !== 'insert') o++;
    if (l.kind !== 'delete') n++;
  }
  oldAt.push(o);
  newAt.push(n);
  const out = [`--- ${options.oldLabel ?? 'a'}`, `+++ ${options.newLabel ?? 'b'}`];
  let c = 0;
  while (c < changes.length) {
    const start = Math.max(0, changes[c]! - context);
    let last = changes[c]!;
    while (c + 1 < changes.length && changes[c + 1]! - last - 1 <= 2 * context)
      last = changes[++c]!;
    c++;
    const end = Math.min(lines.length, last + context + 1);
    const oldCount = oldAt[end]! - oldAt[start]!;
    const newCount = newAt[end]! - newAt[start]!;
    const range = (from: number, count: number): string =>
      `${count === 0 ? from : from + 1},${count}`;
    out.push(`@@ -${range(oldAt[start]!, oldCount)} +${range(newAt[start]!, newCount)} @@`);
    for (const l of lines.slice(start, end)) {
      out.push(`${l.kind === 'equal' ? ' ' : l.kind === 'delete' ? '-' : '+'}${l.text}`);
    }
  }
  return `${out.join('\n')}\n`;
}
