/**
 * Plain-JSON helpers shared by the store, patches and managed fields: type
 * guards, key-order-insensitive equality and path access. Objects here are
 * parsed JSON, never class instances.
 */

/** A parsed JSON object. */
export type JsonMap = Record<string, unknown>;

/** A path of map keys from the object root, e.g. `['spec', 'summary', 'rules']`. */
export type FieldPath = readonly string[];

/** True for a non-null, non-array object. */
export function isJsonMap(value: unknown): value is JsonMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Structural equality of JSON values; map key order is ignored. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => deepEqual(v, b[i]));
  }
  if (!isJsonMap(a) || !isJsonMap(b)) return false;
  const keys = Object.keys(a).filter((k) => a[k] !== undefined);
  if (keys.length !== Object.keys(b).filter((k) => b[k] !== undefined).length) return false;
  return keys.every((k) => deepEqual(a[k], b[k]));
}

/** A deep copy. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** The value at `path`, or undefined. */
export function getAt(root: unknown, path: FieldPath): unknown {
  let cur = root;
  for (const key of path) {
    if (!isJsonMap(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/** Deletes the value at `path` and any maps it leaves empty (mutates `root`). */
export function deleteAt(root: JsonMap, path: FieldPath): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (rest.length === 0) {
    delete root[head];
    return;
  }
  const child = root[head];
  if (!isJsonMap(child)) return;
  deleteAt(child, rest);
  if (Object.keys(child).length === 0) delete root[head];
}

/**
 * Merges `patch` into `target` the way server-side apply merges an applied
 * configuration: maps recursively, everything else (lists included) replaced.
 * Mutates and returns `target`.
 */
export function mergeInto(target: JsonMap, patch: JsonMap): JsonMap {
  for (const [key, value] of Object.entries(patch)) {
    const existing = target[key];
    if (isJsonMap(value) && isJsonMap(existing)) {
      mergeInto(existing, value);
    } else {
      target[key] = clone(value);
    }
  }
  return target;
}

/** True when one path is a prefix of the other (they touch the same subtree). */
export function overlaps(a: FieldPath, b: FieldPath): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `.spec.summary.rules`: a path as kubectl prints it. */
export function formatPath(path: FieldPath): string {
  return path.map((p) => `.${p}`).join('');
}
