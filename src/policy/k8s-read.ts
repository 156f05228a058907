/**
 * Reading plain Kubernetes API JSON for the *-from-k8s conversions: the
 * problem report every conversion fills, and the small typed readers
 * (object, list, string, boolean, unknown fields) that turn a wrong value
 * into a Problem with its field path instead of a throw. Metadata and labels
 * are read in metadata-from-k8s.ts and labels-from-k8s.ts.
 *
 * Pure: no I/O.
 */
import type { PodPhase, Protocol } from './model.js';

/** How bad a problem is: an `error` skips the object, a `warning` does not. */
export type Severity = 'error' | 'warning';

/** One thing wrong (or worth knowing) about the input, located precisely. */
export interface Problem {
  readonly severity: Severity;
  /** Where the object came from: `file#document` (1-based), `…/items[i]` inside a List. */
  readonly source: string;
  /** The object, e.g. `NetworkPolicy a/deny`, `Node n1`; empty when not an object. */
  readonly object: string;
  /** Field path inside the object, e.g. `spec.ingress[0].ports[1].endPort`; empty for the whole object. */
  readonly field: string;
  /** One sentence saying what is wrong and, where possible, how to fix it. */
  readonly message: string;
}

/** One object's conversion: `value` is null exactly when `problems` holds an error. */
export interface Conversion<T> {
  readonly value: T | null;
  readonly problems: readonly Problem[];
}

export type JsonObject = Readonly<Record<string, unknown>>;

/** The problems of one object and what to call it. */
export interface Report {
  readonly source: string;
  readonly object: string;
  readonly problems: Problem[];
}

export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];
export const PHASES: readonly PodPhase[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

// ------------------------------------------------------------ reading plain JSON

export function startReport(source: string, object: string): Report {
  return { source, object, problems: [] };
}

export function finish<T>(r: Report, value: T): Conversion<T> {
  return { value: hasErrors(r) ? null : value, problems: r.problems };
}

export function skipped(r: Report): Conversion<never> {
  return { value: null, problems: r.problems };
}

/**
 * A Problem whose every text is one printable line: names, keys and values
 * from the input are quoted in messages and paths, and input is free to hold
 * newlines and terminal escapes. Control characters (C0, DEL, C1) and the
 * Unicode line and paragraph separators are written as JSON-style escapes
 * (`\n`, `\u001b`), so a problem can never forge an output line.
 */
export function problemOf(
  severity: Severity,
  source: string,
  object: string,
  field: string,
  message: string,
): Problem {
  return {
    severity,
    source: escapeControls(source),
    object: escapeControls(object),
    field: escapeControls(field),
    message: escapeControls(message),
  };
}

const ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with control characters and line separators escaped (see {@link problemOf}). */
export function escapeControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    return ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** Records an error; returns undefined so callers can write `ok = fail(…) ?? false`. */
export function fail(r: Report, field: string, message: string): undefined {
  r.problems.push(problemOf('error', r.source, r.object, field, message));
  return undefined;
}

export function warn(r: Report, field: string, message: string): void {
  r.problems.push(problemOf('warning', r.source, r.object, field, message));
}

export function hasErrors(r: Report): boolean {
  return r.problems.some((p) => p.severity === 'error');
}

export function errorsSince(r: Report, index: number): boolean {
  return r.problems.slice(index).some((p) => p.severity === 'error');
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An own property, with JSON null read as absent (as the API server reads it). */
export function own(obj: JsonObject, key: string): unknown {
  return Object.hasOwn(obj, key) ? (obj[key] ?? undefined) : undefined;
}

export function stringOr(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

export function readObject(
  r: Report,
  obj: JsonObject,
  key: string,
  path: string,
): JsonObject | undefined {
  const v = own(obj, key);
  if (v === undefined || isObject(v)) return v;
  return fail(r, path, `must be an object, not ${show(v)}`);
}

export function readList(
  r: Report,
  obj: JsonObject,
  key: string,
  path: string,
): readonly unknown[] | undefined {
  const v = own(obj, key);
  if (v === undefined || Array.isArray(v)) return v;
  return fail(r, path, `must be a list, not ${show(v)}`);
}

/**
 * The items of a list, with each JSON `null` item read as `zero` — the zero
 * value the API server's decoder puts in its place (`{}` for an object, `""`
 * for a string), so `ingress: [null]` is `ingress: [{}]` — with a warning,
 * because an empty rule allows everything.
 */
export function readItems(
  r: Report,
  obj: JsonObject,
  key: string,
  path: string,
  zero: JsonObject | '',
): readonly unknown[] | undefined {
  const list = readList(r, obj, key, path);
  if (list === undefined || !list.includes(null)) return list;
  const shown = zero === '' ? '""' : '{}';
  return list.map((item, i) => {
    if (item !== null) return item;
    warn(r, `${path}[${i}]`, `null is read as ${shown}, as the API server reads it`);
    return zero;
  });
}

export function readString(
  r: Report,
  obj: JsonObject,
  key: string,
  path: string,
): string | undefined {
  const v = own(obj, key);
  if (v === undefined || typeof v === 'string') return v;
  return fail(r, path, `must be a string, not ${show(v)}`);
}

export function readBoolean(
  r: Report,
  obj: JsonObject,
  key: string,
  path: string,
): boolean | undefined {
  const v = own(obj, key);
  if (v === undefined || typeof v === 'boolean') return v;
  return fail(r, path, `must be true or false, not ${show(v)}`);
}

/**
 * Reports every field of `obj` not in `allowed`, suggesting the closest
 * allowed name (or a `hints` text) so that a typo is easy to fix.
 */
export function rejectUnknownFields(
  r: Report,
  obj: JsonObject,
  path: string,
  allowed: readonly string[],
  hints: Readonly<Record<string, string>> = {},
): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue;
    const hint = Object.hasOwn(hints, key) ? hints[key] : undefined;
    const close = closestName(key, allowed);
    const advice =
      hint ?? (close ? `did you mean "${close}"?` : `expected one of ${allowed.join(', ')}`);
    fail(
      r,
      path ? `${path}.${key}` : key,
      `unknown field "${key}" (${advice}); unknown fields are rejected because ignoring them could widen access`,
    );
  }
}

/** The allowed name within edit distance 2 (or equal ignoring case), if any. */
function closestName(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of allowed) {
    const d = name.toLowerCase() === key.toLowerCase() ? 0 : editDistance(name, key);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * Levenshtein distance: the fewest one-character inserts, deletes and
 * substitutions that turn `a` into `b` (case-sensitive).
 */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** A value as it appears in a message: strings quoted, objects by kind. */
export function show(value: unknown): string {
  if (typeof value === 'string') return `"${value}"`;
  if (Array.isArray(value)) return 'a list';
  if (isObject(value)) return 'an object';
  return String(value);
}

export function familyName(family: 'ip' | 'ip6'): string {
  return family === 'ip' ? 'IPv4' : 'IPv6';
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
