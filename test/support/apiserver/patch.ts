/**
 * The four PATCH flavours, chosen by Content-Type as on a real server:
 *
 * - `application/merge-patch+json` — RFC 7386 JSON merge patch;
 * - `application/strategic-merge-patch+json` — treated as a merge patch
 *   (correct for every field nftpol patches; list merge keys and `$patch`
 *   directives are not implemented);
 * - `application/json-patch+json` — RFC 6902 (client-node's default
 *   Content-Type for patch calls!);
 * - `application/apply-patch+yaml` — server-side apply, simplified: the
 *   applied configuration is merged in (maps recursively, lists atomic),
 *   fields the manager applied before but no longer sends are removed unless
 *   another manager owns them, and a field owned by another manager with a
 *   different value is a 409 conflict unless `force=true`.
 */
import { parse as parseYaml } from 'yaml';
import { ApiError } from './errors.js';
import {
  clone,
  deepEqual,
  deleteAt,
  formatPath,
  getAt,
  isJsonMap,
  mergeInto,
  overlaps,
  type FieldPath,
  type JsonMap,
} from './json.js';
import {
  assignOwnership,
  fromFieldsV1,
  leafPaths,
  readManagedFields,
  type FieldScope,
  type ManagedFieldsEntry,
} from './managed-fields.js';

/** Patch flavours, by their Content-Type. */
export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

const PATCH_TYPES: Readonly<Record<string, PatchType>> = {
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/json-patch+json': 'json',
  'application/apply-patch+yaml': 'apply',
};

/**
 * The patch flavour for a Content-Type header.
 *
 * @throws ApiError UnsupportedMediaType (415) for anything else.
 */
export function patchTypeOf(contentType: string | undefined): PatchType {
  const bare = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const type = PATCH_TYPES[bare];
  if (type === undefined) {
    throw new ApiError(
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_TYPES).join(', ')}`,
    );
  }
  return type;
}

/**
 * Parses a patch body: YAML (a superset of JSON) for apply, JSON otherwise.
 *
 * @throws ApiError BadRequest on a syntax error.
 */
export function parsePatchBody(type: PatchType, text: string): unknown {
  try {
    return type === 'apply' ? (parseYaml(text) as unknown) : (JSON.parse(text) as unknown);
  } catch (err) {
    throw new ApiError('BadRequest', `error decoding patch: ${(err as Error).message}`);
  }
}

/** RFC 7386: returns `target` with `patch` merged (null deletes). Does not mutate. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonMap(patch)) return clone(patch);
  const out: JsonMap = isJsonMap(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/**
 * RFC 6902: applies operations in order to a copy of `target`.
 *
 * @throws ApiError Invalid (422) when an operation fails (missing path, failed test),
 *   BadRequest when the patch is not a list of operations.
 */
export function jsonPatch(target: JsonMap, ops: unknown): JsonMap {
  if (!Array.isArray(ops)) {
    throw new ApiError('BadRequest', 'json patch must be a list of operations');
  }
  let doc: unknown = clone(target);
  for (const op of ops) {
    if (!isJsonMap(op) || typeof op['op'] !== 'string' || typeof op['path'] !== 'string') {
      throw new ApiError('BadRequest', `invalid json patch operation ${JSON.stringify(op)}`);
    }
    const path = parsePointer(op['path']);
    switch (op['op']) {
      case 'add':
        doc = addAt(doc, path, clone(op['value']));
        break;
      case 'remove':
        doc = removeAt(doc, path);
        break;
      case 'replace':
        doc = addAt(removeAt(doc, path), path, clone(op['value']));
        break;
      case 'move': {
        const from = parsePointer(String(op['from']));
        const value = pointerGet(doc, from);
        doc = addAt(removeAt(doc, from), path, value);
        break;
      }
      case 'copy':
        doc = addAt(doc, path, clone(pointerGet(doc, parsePointer(String(op['from'])))));
        break;
      case 'test':
        if (!deepEqual(pointerGet(doc, path), op['value'])) {
          throw new ApiError('Invalid', `json patch test failed at ${op['path']}`);
        }
        break;
      default:
        throw new ApiError('BadRequest', `unknown json patch operation ${String(op['op'])}`);
    }
  }
  if (!isJsonMap(doc)) throw new ApiError('Invalid', 'json patch replaced the whole object');
  return doc;
}

/** Inputs of {@link applyConfiguration}. */
export interface ApplyRequest {
  readonly manager: string;
  readonly force: boolean;
  readonly scope: FieldScope;
  readonly subresource: 'status' | undefined;
  readonly apiVersion: string;
  /** RFC 3339 time recorded in the manager's entry. */
  readonly time: string;
  /** For error messages: `nodefirewalls.nftpol.io "n1"`. */
  readonly describe: string;
}

/**
 * Server-side apply of `applied` onto `current` (undefined: create).
 * Returns the new object (server-owned metadata untouched) with its
 * managedFields.
 *
 * @throws ApiError Conflict listing every conflicting field and its manager.
 */
export function applyConfiguration(
  current: JsonMap | undefined,
  applied: JsonMap,
  req: ApplyRequest,
): JsonMap {
  const entries = readManagedFields(getAt(current, ['metadata', 'managedFields']));
  const key = { manager: req.manager, operation: 'Apply' as const, subresource: req.subresource };
  const appliedPaths = leafPaths(applied, req.scope);
  const result: JsonMap = current === undefined ? {} : clone(current);

  const others = entries.filter((e) => e.manager !== req.manager);
  const previous = entries.find(
    (e) =>
      e.manager === req.manager && e.operation === 'Apply' && e.subresource === req.subresource,
  );
  // A field this manager applied before and no longer applies (no applied
  // path at or below it) is removed, unless another manager owns it.
  const stale = (previous === undefined ? [] : fromFieldsV1(previous.fieldsV1)).filter(
    (p) =>
      !appliedPaths.some((a) => isPrefix(p, a)) &&
      !others.some((e) => fromFieldsV1(e.fieldsV1).some((o) => overlaps(o, p))),
  );
  for (const path of stale) deleteAt(result, path);
  const before = clone(result);
  mergeInto(result, scoped(applied, req.scope));

  const conflicts = findConflicts(before, result, appliedPaths, others);
  if (conflicts.length > 0 && !req.force) {
    const list = conflicts.map((c) => `conflict with "${c.manager}": ${formatPath(c.path)}`);
    throw new ApiError(
      'Conflict',
      `Apply failed with ${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'}: ${list.join('; ')}`,
      { kind: req.describe },
    );
  }

  const forced = conflicts.map((c) => c.path);
  const managedFields: ManagedFieldsEntry[] = assignOwnership(
    entries,
    key,
    appliedPaths,
    { apiVersion: req.apiVersion, time: req.time, replaceOwn: true },
    forced,
  );
  const metadata = isJsonMap(result['metadata']) ? result['metadata'] : {};
  result['metadata'] = { ...metadata, managedFields };
  return result;
}

interface FieldConflict {
  readonly manager: string;
  readonly path: FieldPath;
}

/** Fields owned by other managers that the apply touches and changes. */
function findConflicts(
  before: JsonMap,
  after: JsonMap,
  appliedPaths: readonly FieldPath[],
  others: readonly ManagedFieldsEntry[],
): FieldConflict[] {
  const out: FieldConflict[] = [];
  for (const entry of others) {
    for (const owned of fromFieldsV1(entry.fieldsV1)) {
      if (!appliedPaths.some((a) => overlaps(a, owned))) continue;
      if (!deepEqual(getAt(before, owned), getAt(after, owned))) {
        out.push({ manager: entry.manager, path: owned });
      }
    }
  }
  return out;
}

/** True when `prefix` is `path` or an ancestor of it. */
function isPrefix(prefix: FieldPath, path: FieldPath): boolean {
  return prefix.length <= path.length && prefix.every((k, i) => k === path[i]);
}

/** The part of an applied configuration a write in `scope` may merge. */
function scoped(applied: JsonMap, scope: FieldScope): JsonMap {
  const out: JsonMap = {};
  for (const [key, value] of Object.entries(applied)) {
    if (key === 'apiVersion' || key === 'kind') continue;
    if (key === 'metadata') {
      if (scope === 'status' || !isJsonMap(value)) continue;
      const owned: JsonMap = {};
      for (const m of ['labels', 'annotations', 'ownerReferences', 'finalizers']) {
        if (value[m] !== undefined) owned[m] = value[m];
      }
      out['metadata'] = owned;
      continue;
    }
    if (scope === 'status' ? key !== 'status' : scope === 'spec' && key === 'status') continue;
    out[key] = value;
  }
  return out;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new ApiError('BadRequest', `invalid json pointer ${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function pointerGet(doc: unknown, path: readonly string[]): unknown {
  let cur = doc;
  for (const key of path) {
    if (Array.isArray(cur)) cur = cur[Number(key)];
    else if (isJsonMap(cur) && Object.hasOwn(cur, key)) cur = cur[key];
    else throw new ApiError('Invalid', `json patch path /${path.join('/')} does not exist`);
    if (cur === undefined) {
      throw new ApiError('Invalid', `json patch path /${path.join('/')} does not exist`);
    }
  }
  return cur;
}

function addAt(doc: unknown, path: readonly string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const parent = pointerGet(doc, path.slice(0, -1));
  const last = path[path.length - 1] ?? '';
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(index) || index < 0 || index > parent.length) {
      throw new ApiError('Invalid', `json patch index ${last} out of range`);
    }
    parent.splice(index, 0, value);
  } else if (isJsonMap(parent)) {
    parent[last] = value;
  } else {
    throw new ApiError('Invalid', `json patch parent of /${path.join('/')} is not a container`);
  }
  return doc;
}

function removeAt(doc: unknown, path: readonly string[]): unknown {
  if (path.length === 0) return undefined;
  pointerGet(doc, path);
  const parent = pointerGet(doc, path.slice(0, -1));
  const last = path[path.length - 1] ?? '';
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else if (isJsonMap(parent)) delete parent[last];
  return doc;
}
