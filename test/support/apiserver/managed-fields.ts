/**
 * `metadata.managedFields`: which field manager owns which fields. Kept
 * minimal but in the real FieldsV1 shape (`{"f:spec": {"f:script": {}}}`), so
 * that server-side apply can report conflicts between managers, remove fields
 * an applier stopped sending, and so that clients reading managedFields see
 * the familiar structure.
 *
 * Simplifications (documented, deliberate): lists are atomic (a list is one
 * leaf; no list-map merge by key); fields written by the same manager name
 * never conflict with each other, whatever the operation.
 */
import { deepEqual, getAt, isJsonMap, overlaps, type FieldPath, type JsonMap } from './json.js';

/** metav1.ManagedFieldsEntry. */
export interface ManagedFieldsEntry {
  readonly manager: string;
  readonly operation: 'Apply' | 'Update';
  readonly apiVersion: string;
  readonly time: string;
  readonly fieldsType: 'FieldsV1';
  readonly fieldsV1: JsonMap;
  readonly subresource?: string;
}

/** Which part of an object a write may touch. */
export type FieldScope = 'all' | 'spec' | 'status';

/** metadata fields a client owns; the rest of metadata is the server's. */
const OWNED_METADATA = ['labels', 'annotations', 'ownerReferences', 'finalizers'];

/**
 * The leaf paths of `obj` inside `scope`: maps are descended, everything else
 * (scalars, lists, empty maps) is a leaf.
 *
 * - `all`: everything but apiVersion, kind and server-owned metadata;
 * - `spec`: the same without `status` (main resource of a status-subresource type);
 * - `status`: only `status`.
 */
export function leafPaths(obj: JsonMap, scope: FieldScope): FieldPath[] {
  const out: FieldPath[] = [];
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'apiVersion' || key === 'kind' || value === undefined) continue;
    if (scope === 'status' ? key !== 'status' : scope === 'spec' && key === 'status') continue;
    if (key === 'metadata') {
      if (!isJsonMap(value)) continue;
      for (const m of OWNED_METADATA) {
        if (value[m] !== undefined) collect(value[m], ['metadata', m], out);
      }
      continue;
    }
    collect(value, [key], out);
  }
  return out;
}

/** Paths whose values differ between `before` and `after` (in `scope`). */
export function changedPaths(before: JsonMap, after: JsonMap, scope: FieldScope): FieldPath[] {
  const seen = new Set<string>();
  const out: FieldPath[] = [];
  for (const path of [...leafPaths(before, scope), ...leafPaths(after, scope)]) {
    const key = JSON.stringify(path);
    if (seen.has(key)) continue;
    seen.add(key);
    if (!deepEqual(getAt(before, path), getAt(after, path))) out.push(path);
  }
  return out;
}

/** FieldsV1 for a set of leaf paths. */
export function toFieldsV1(paths: readonly FieldPath[]): JsonMap {
  const root: JsonMap = {};
  for (const path of paths) {
    let cur = root;
    for (const key of path) {
      const name = `f:${key}`;
      const next = cur[name];
      if (isJsonMap(next)) {
        cur = next;
      } else {
        const created: JsonMap = {};
        cur[name] = created;
        cur = created;
      }
    }
  }
  return root;
}

/** Leaf paths of a FieldsV1 document (inverse of {@link toFieldsV1}). */
export function fromFieldsV1(fields: JsonMap): FieldPath[] {
  const out: FieldPath[] = [];
  const walk = (node: JsonMap, prefix: string[]): void => {
    const keys = Object.keys(node).filter((k) => k.startsWith('f:'));
    if (keys.length === 0 && prefix.length > 0) out.push(prefix);
    for (const k of keys) {
      const child = node[k];
      walk(isJsonMap(child) ? child : {}, [...prefix, k.slice(2)]);
    }
  };
  walk(fields, []);
  return out;
}

/** Identity of an entry: a manager may hold one Apply and one Update entry per subresource. */
export interface ManagerKey {
  readonly manager: string;
  readonly operation: 'Apply' | 'Update';
  readonly subresource?: string | undefined;
}

/**
 * Returns `entries` with `paths` owned by `key`, taken away from every other
 * manager (an Update takes ownership of what it changed), and with `key`'s
 * entry replaced when `replaceOwn` (an Apply states its full set) or extended.
 * Entries left owning nothing are dropped.
 */
export function assignOwnership(
  entries: readonly ManagedFieldsEntry[],
  key: ManagerKey,
  paths: readonly FieldPath[],
  meta: { readonly apiVersion: string; readonly time: string; readonly replaceOwn: boolean },
  takeFromOthers: readonly FieldPath[] = paths,
): ManagedFieldsEntry[] {
  const out: ManagedFieldsEntry[] = [];
  let own: FieldPath[] = [];
  for (const entry of entries) {
    const owned = fromFieldsV1(entry.fieldsV1);
    if (isSameManager(entry, key)) {
      own = meta.replaceOwn ? [] : owned;
      continue;
    }
    const kept = owned.filter((p) => !takeFromOthers.some((t) => overlaps(p, t)));
    if (kept.length > 0) out.push({ ...entry, fieldsV1: toFieldsV1(kept) });
  }
  const merged = [...own.filter((p) => !paths.some((t) => overlaps(p, t))), ...paths];
  if (merged.length === 0) return out;
  out.push({
    manager: key.manager,
    operation: key.operation,
    apiVersion: meta.apiVersion,
    time: meta.time,
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(merged),
    ...(key.subresource === undefined ? {} : { subresource: key.subresource }),
  });
  return out;
}

/** Removes `paths` from every entry (the fields no longer exist). */
export function dropPaths(
  entries: readonly ManagedFieldsEntry[],
  paths: readonly FieldPath[],
): ManagedFieldsEntry[] {
  const out: ManagedFieldsEntry[] = [];
  for (const entry of entries) {
    const kept = fromFieldsV1(entry.fieldsV1).filter((p) => !paths.some((t) => overlaps(p, t)));
    if (kept.length > 0) out.push({ ...entry, fieldsV1: toFieldsV1(kept) });
  }
  return out;
}

/** True when `entry` belongs to `key`. */
export function isSameManager(entry: ManagedFieldsEntry, key: ManagerKey): boolean {
  return (
    entry.manager === key.manager &&
    entry.operation === key.operation &&
    entry.subresource === key.subresource
  );
}

/** Parses stored managedFields leniently (objects seeded by tests may carry anything). */
export function readManagedFields(value: unknown): ManagedFieldsEntry[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (e): e is ManagedFieldsEntry =>
      isJsonMap(e) && typeof e['manager'] === 'string' && isJsonMap(e['fieldsV1']),
  );
}

function collect(value: unknown, prefix: string[], out: FieldPath[]): void {
  if (isJsonMap(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) collect(v, [...prefix, k], out);
    }
    return;
  }
  out.push(prefix);
}
