/**
 * The object store and its write semantics: what a real API server
 * guarantees about every write, minus persistence.
 *
 * - One global resourceVersion counter; every committed change takes the
 *   next value, and lists report the current one.
 * - metadata: uid, creationTimestamp, resourceVersion and generation are the
 *   server's; generation starts at 1 and grows on spec changes only for
 *   resources with a status subresource, on any non-metadata change otherwise.
 * - Optimistic concurrency: a write carrying a stale metadata.resourceVersion
 *   is a 409 Conflict; create of an existing name is 409 AlreadyExists.
 * - A write that changes nothing commits nothing (no new resourceVersion, no
 *   watch event), as on a real server.
 * - The status subresource: `/status` writes change only status; main writes
 *   of a status-subresource resource ignore status.
 * - Deleting an object deletes, recursively, the objects whose every owner
 *   reference is now gone (foreground GC done synchronously).
 * - Objects larger than the etcd limit (1.5 MiB) are refused with the real
 *   server's 500 "etcdserver: request is too large".
 *
 * Tests may seed through these methods directly (same semantics as HTTP).
 */
import { validateObject } from './validation.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { ApiError, alreadyExists, conflict, notFound } from './errors.js';
import { History, type Change, type ChangeType } from './history.js';
import { clone, deepEqual, isJsonMap, type JsonMap } from './json.js';
import {
  assignOwnership,
  changedPaths,
  dropPaths,
  leafPaths,
  readManagedFields,
  type FieldScope,
  type ManagedFieldsEntry,
} from './managed-fields.js';
import { applyConfiguration, jsonPatch, mergePatch, type PatchType } from './patch.js';
import { matchesFilter, type ObjectFilter } from './selectors.js';
import {
  RESOURCES,
  SERVED_BY_DEFAULT,
  apiVersionOf,
  resourceByPlural,
  type ResourceDef,
} from './resources.js';

/** metav1.ObjectMeta as stored (server fields always present). */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  generation: number;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string }[];
  managedFields?: ManagedFieldsEntry[];
  [key: string]: unknown;
}

/** A stored object: plain JSON with complete type and object metadata. */
export interface StoredObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** Store tuning. */
export interface StoreOptions {
  /** Changes kept for watch resume before older ones are compacted. @default 10000 */
  readonly historyLimit?: number;
  /** Largest stored object, JSON bytes. @default 1572864 (etcd's 1.5 MiB) */
  readonly maxObjectBytes?: number;
  /** Clock for timestamps. @default () => new Date() */
  readonly now?: () => Date;
  /** On-demand resources (plurals) served from the start, as if their CRDs were installed. @default [] */
  readonly install?: readonly string[];
}

/** Options common to writes (query parameters of the real API). */
export interface WriteOptions {
  /** `fieldManager`; recorded in managedFields. @default 'unknown' */
  readonly fieldManager?: string | undefined;
  /** `dryRun=All`: compute and return the result without committing. */
  readonly dryRun?: boolean | undefined;
}

/** Where a write goes when the URL, not the body, names the object. */
export interface Target {
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
  readonly subresource?: 'status' | undefined;
}

/** Preconditions of a delete (metav1.Preconditions). */
export interface Preconditions {
  readonly uid?: string | undefined;
  readonly resourceVersion?: string | undefined;
}

/** In-memory objects with Kubernetes write semantics and a watchable history. */
export class ApiStore {
  /** The change log watches read from. */
  readonly history: History;
  private readonly objects = new Map<string, Map<string, StoredObject>>();
  private counter = 0;
  private readonly maxObjectBytes: number;
  private readonly now: () => Date;
  private readonly installed = new Set<string>();

  constructor(options: StoreOptions = {}) {
    this.history = new History(options.historyLimit ?? 10_000);
    this.maxObjectBytes = options.maxObjectBytes ?? 1_572_864;
    this.now = options.now ?? (() => new Date());
    for (const def of RESOURCES) this.objects.set(def.plural, new Map());
    for (const plural of options.install ?? []) this.install(plural);
  }

  /**
   * Serves an on-demand resource from now on (its CRD was installed), over
   * HTTP and in discovery. Idempotent.
   * @throws Error for an unknown plural
   */
  install(plural: string): void {
    this.installed.add(resourceByPlural(plural).plural);
  }

  /** Whether `def` is served now: always, or once installed when on demand. */
  serves(def: ResourceDef): boolean {
    return SERVED_BY_DEFAULT(def) || this.installed.has(def.plural);
  }

  /** The latest committed resourceVersion (0 before any write). */
  get resourceVersion(): number {
    return this.counter;
  }

  /** A copy of the object, or undefined. */
  get(plural: string, namespace: string | undefined, name: string): StoredObject | undefined {
    const def = resourceByPlural(plural);
    const found = this.table(def).get(keyOf(def, namespace, name));
    return found === undefined ? undefined : clone(found);
  }

  /** Copies of the matching objects in namespace/name order, and the current resourceVersion. */
  list(
    plural: string,
    filter: ObjectFilter = {},
  ): { readonly items: StoredObject[]; readonly resourceVersion: string } {
    const def = resourceByPlural(plural);
    const items = [...this.table(def).entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, obj]) => obj)
      .filter((obj) => matchesFilter(obj, filter))
      .map((obj) => clone(obj));
    return { items, resourceVersion: String(this.counter) };
  }

  /**
   * Creates an object (POST). The namespace comes from `target` or the body
   * (`default` when neither names one). Unlike a real server, status sent on
   * create is kept for resources without the strict status subresource, so
   * tests can seed a Pod with its IPs in one call.
   *
   * @throws ApiError AlreadyExists, BadRequest (namespace mismatch), Invalid (no name).
   */
  create(plural: string, body: unknown, options: WriteOptions & Target = {}): StoredObject {
    return this.createObject(resourceByPlural(plural), requireObject(body), options, undefined);
  }

  /**
   * Replaces an object (PUT), or its status (`target.subresource = 'status'`).
   *
   * @throws ApiError NotFound, Conflict (stale resourceVersion), BadRequest (name mismatch).
   */
  replace(plural: string, body: unknown, options: WriteOptions & Target = {}): StoredObject {
    const def = resourceByPlural(plural);
    const obj = requireObject(body);
    const meta = isJsonMap(obj['metadata']) ? obj['metadata'] : {};
    const name = options.name ?? (typeof meta['name'] === 'string' ? meta['name'] : '');
    if (options.name !== undefined && meta['name'] !== undefined && meta['name'] !== options.name) {
      throw new ApiError(
        'BadRequest',
        `the name of the object (${JSON.stringify(meta['name'])}) does not match the name on the URL (${options.name})`,
      );
    }
    const namespace = resolveNamespace(def, options.namespace, meta['namespace']);
    const current = this.require(def, namespace, name);
    checkResourceVersion(def, current, meta['resourceVersion']);
    return this.update(def, current, obj, options);
  }

  /**
   * Patches an object or its status. Server-side apply (`type = 'apply'`)
   * creates the object when it does not exist.
   *
   * @throws ApiError NotFound, Conflict, Invalid, BadRequest.
   */
  patch(
    plural: string,
    target: Target & { readonly name: string },
    type: PatchType,
    patch: unknown,
    options: WriteOptions & { readonly force?: boolean | undefined } = {},
  ): StoredObject {
    const def = resourceByPlural(plural);
    const namespace = resolveNamespace(def, target.namespace, undefined);
    const current = this.table(def).get(keyOf(def, namespace, target.name));
    if (type === 'apply') {
      return this.apply(def, current, { ...target, namespace }, requireObject(patch), options);
    }
    if (current === undefined) throw notFound(def.group, def.plural, target.name);
    const patched =
      type === 'json' ? jsonPatch(current, patch) : requireObject(mergePatch(current, patch));
    const meta = isJsonMap(patched['metadata']) ? patched['metadata'] : {};
    checkResourceVersion(def, current, meta['resourceVersion']);
    if (meta['name'] !== current.metadata.name) {
      throw new ApiError('Invalid', `metadata.name: Invalid value: field is immutable`);
    }
    return this.update(def, current, patched, { ...options, ...target });
  }

  /**
   * Deletes an object and, recursively, its garbage (objects all of whose
   * owners are gone). Returns the deleted object with the deletion's
   * resourceVersion.
   *
   * @throws ApiError NotFound, Conflict (failed precondition).
   */
  delete(
    plural: string,
    namespace: string | undefined,
    name: string,
    options: { readonly preconditions?: Preconditions | undefined; readonly dryRun?: boolean } = {},
  ): StoredObject {
    const def = resourceByPlural(plural);
    const ns = resolveNamespace(def, namespace, undefined);
    const current = this.require(def, ns, name);
    const pre = options.preconditions;
    if (pre?.uid !== undefined && pre.uid !== current.metadata.uid) {
      throw conflict(
        def.group,
        def.plural,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`,
      );
    }
    if (
      pre?.resourceVersion !== undefined &&
      pre.resourceVersion !== current.metadata.resourceVersion
    ) {
      throw conflict(def.group, def.plural, name);
    }
    if (options.dryRun === true) return clone(current);
    const deleted = this.remove(def, current);
    this.collectGarbage(current.metadata.uid);
    return deleted;
  }

  /** Forgets the change history up to now: watches from older versions get 410 Gone. */
  compact(): number {
    this.history.compact(this.counter);
    return this.counter;
  }

  /** Create; `applied` carries the managedFields of a server-side apply create. */
  private createObject(
    def: ResourceDef,
    obj: JsonMap,
    options: WriteOptions & Target,
    applied: ManagedFieldsEntry[] | undefined,
  ): StoredObject {
    const meta = isJsonMap(obj['metadata']) ? obj['metadata'] : {};
    const namespace = resolveNamespace(def, options.namespace, meta['namespace']);
    const name = resolveName(meta);
    if (this.table(def).has(keyOf(def, namespace, name))) {
      throw alreadyExists(def.group, def.plural, name);
    }
    const time = formatTime(this.now());
    const created = assemble(apiVersionOf(def), def.kind, obj, {
      ...userMetadata(meta),
      name,
      ...(namespace === undefined ? {} : { namespace }),
      uid: randomUUID(),
      resourceVersion: '',
      generation: 1,
      creationTimestamp: time,
    });
    if (def.statusSubresource) delete created['status'];
    if (def.plural === 'namespaces') addNamespaceNameLabel(created);
    const scope: FieldScope = def.statusSubresource ? 'spec' : 'all';
    const entries =
      applied ??
      assignOwnership([], updater(options), leafPaths(created, scope), {
        apiVersion: apiVersionOf(def),
        time,
        replaceOwn: false,
      });
    if (entries.length > 0) created.metadata.managedFields = entries;
    return this.commit(def, 'ADDED', undefined, created, options.dryRun);
  }

  private apply(
    def: ResourceDef,
    current: StoredObject | undefined,
    target: Target & { readonly name: string },
    applied: JsonMap,
    options: WriteOptions & { readonly force?: boolean | undefined },
  ): StoredObject {
    const manager = options.fieldManager;
    if (manager === undefined || manager === '') {
      throw new ApiError('BadRequest', 'PATCH operations using apply must have fieldManager');
    }
    if (applied['apiVersion'] !== apiVersionOf(def) || applied['kind'] !== def.kind) {
      throw new ApiError(
        'BadRequest',
        `apply configuration must have apiVersion ${apiVersionOf(def)} and kind ${def.kind}`,
      );
    }
    const meta = isJsonMap(applied['metadata']) ? applied['metadata'] : {};
    if (meta['name'] !== undefined && meta['name'] !== target.name) {
      throw new ApiError('BadRequest', `the name of the object does not match the name on the URL`);
    }
    const scope: FieldScope =
      target.subresource === 'status' ? 'status' : def.statusSubresource ? 'spec' : 'all';
    const describe = `${def.group === '' ? def.plural : `${def.plural}.${def.group}`} "${target.name}"`;
    const request = {
      manager,
      force: options.force === true,
      scope,
      subresource: target.subresource,
      apiVersion: apiVersionOf(def),
      time: formatTime(this.now()),
      describe,
    };
    if (current === undefined) {
      if (target.subresource === 'status') throw notFound(def.group, def.plural, target.name);
      const result = applyConfiguration(undefined, applied, request);
      const resultMeta = isJsonMap(result['metadata']) ? result['metadata'] : {};
      const managedFields = readManagedFields(resultMeta['managedFields']);
      const body = { ...result, metadata: { ...resultMeta, name: target.name } };
      return this.createObject(
        def,
        body,
        { ...options, namespace: target.namespace },
        managedFields,
      );
    }
    checkResourceVersion(def, current, meta['resourceVersion']);
    const result = applyConfiguration(current, applied, request);
    return this.commitUpdate(def, current, result, target.subresource, options.dryRun);
  }

  private update(
    def: ResourceDef,
    current: StoredObject,
    proposed: JsonMap,
    options: WriteOptions & Target,
  ): StoredObject {
    const candidate = scopeCandidate(def, current, proposed, options.subresource);
    const scope: FieldScope =
      options.subresource === 'status' ? 'status' : def.statusSubresource ? 'spec' : 'all';
    const changed = changedPaths(current, candidate, scope);
    const present = changed.filter((p) => leafPaths(candidate, scope).some((l) => samePath(l, p)));
    const removed = changed.filter((p) => !present.includes(p));
    const entries = assignOwnership(
      dropPaths(readManagedFields(current.metadata.managedFields), removed),
      { ...updater(options), subresource: options.subresource },
      present,
      { apiVersion: apiVersionOf(def), time: formatTime(this.now()), replaceOwn: false },
    );
    candidate.metadata.managedFields = entries;
    if (entries.length === 0) delete candidate.metadata.managedFields;
    return this.commitUpdate(def, current, candidate, options.subresource, options.dryRun);
  }

  /** Fixes server-owned metadata, bumps generation, skips no-ops, commits. */
  private commitUpdate(
    def: ResourceDef,
    current: StoredObject,
    proposed: JsonMap,
    subresource: 'status' | undefined,
    dryRun: boolean | undefined,
  ): StoredObject {
    const candidate = scopeCandidate(def, current, proposed, subresource);
    if (def.plural === 'namespaces') addNamespaceNameLabel(candidate);
    if (specChanged(def, current, candidate)) {
      candidate.metadata.generation = current.metadata.generation + 1;
    }
    if (isUnchanged(current, candidate)) return clone(current);
    return this.commit(def, 'MODIFIED', current, candidate, dryRun);
  }

  private commit(
    def: ResourceDef,
    type: ChangeType,
    previous: StoredObject | undefined,
    next: StoredObject,
    dryRun: boolean | undefined,
  ): StoredObject {
    if (type !== 'DELETED') validateObject(def, next);
    const bytes = Buffer.byteLength(JSON.stringify(next));
    if (bytes > this.maxObjectBytes) {
      throw new ApiError('InternalError', 'etcdserver: request is too large');
    }
    if (dryRun === true) return clone(next);
    this.counter++;
    next.metadata.resourceVersion = String(this.counter);
    this.table(def).set(keyOf(def, next.metadata.namespace, next.metadata.name), next);
    this.record(def, type, next, previous);
    return clone(next);
  }

  private remove(def: ResourceDef, current: StoredObject): StoredObject {
    this.counter++;
    this.table(def).delete(keyOf(def, current.metadata.namespace, current.metadata.name));
    const deleted = clone(current);
    deleted.metadata.resourceVersion = String(this.counter);
    this.record(def, 'DELETED', deleted, current);
    return clone(deleted);
  }

  private record(
    def: ResourceDef,
    type: ChangeType,
    object: StoredObject,
    previous: StoredObject | undefined,
  ): void {
    const change: Change = { type, resource: def, object, previous, resourceVersion: this.counter };
    this.history.append(change);
  }

  /** Deletes objects that named `uid` as an owner and have no owner left. */
  private collectGarbage(uid: string): void {
    const live = new Set<string>();
    for (const table of this.objects.values()) {
      for (const obj of table.values()) live.add(obj.metadata.uid);
    }
    for (const def of RESOURCES) {
      for (const obj of [...this.table(def).values()]) {
        const owners = obj.metadata.ownerReferences ?? [];
        if (!owners.some((o) => o.uid === uid)) continue;
        if (owners.some((o) => live.has(o.uid))) continue;
        if (!this.table(def).has(keyOf(def, obj.metadata.namespace, obj.metadata.name))) continue;
        this.remove(def, obj);
        this.collectGarbage(obj.metadata.uid);
      }
    }
  }

  private require(def: ResourceDef, namespace: string | undefined, name: string): StoredObject {
    const found = this.table(def).get(keyOf(def, namespace, name));
    if (found === undefined) throw notFound(def.group, def.plural, name);
    return found;
  }

  private table(def: ResourceDef): Map<string, StoredObject> {
    const table = this.objects.get(def.plural);
    if (table === undefined) throw new Error(`no table for ${def.plural}`);
    return table;
  }
}

/** `2024-05-01T10:00:00Z`: RFC 3339 with seconds, as metav1.Time serializes. */
export function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function keyOf(def: ResourceDef, namespace: string | undefined, name: string): string {
  return def.namespaced ? `${namespace ?? ''}/${name}` : name;
}

function requireObject(body: unknown): JsonMap {
  if (!isJsonMap(body)) throw new ApiError('BadRequest', 'the request body must be a JSON object');
  return body;
}

function resolveNamespace(
  def: ResourceDef,
  fromUrl: string | undefined,
  fromBody: unknown,
): string | undefined {
  if (!def.namespaced) return undefined;
  if (
    fromUrl !== undefined &&
    typeof fromBody === 'string' &&
    fromBody !== '' &&
    fromBody !== fromUrl
  ) {
    throw new ApiError(
      'BadRequest',
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  }
  if (fromUrl !== undefined) return fromUrl;
  return typeof fromBody === 'string' && fromBody !== '' ? fromBody : 'default';
}

function resolveName(meta: JsonMap): string {
  const name = meta['name'];
  if (typeof name === 'string' && name !== '') return name;
  const prefix = meta['generateName'];
  if (typeof prefix === 'string' && prefix !== '') {
    return prefix + randomBytes(4).toString('hex').slice(0, 5);
  }
  throw new ApiError('Invalid', 'metadata.name: Required value: name or generateName is required');
}

/** The metadata fields a client may set; server fields are dropped. */
function userMetadata(meta: JsonMap): JsonMap {
  const out: JsonMap = {};
  for (const [key, value] of Object.entries(meta)) {
    if (SERVER_METADATA.has(key) || value === undefined || value === null) continue;
    out[key] = clone(value);
  }
  return out;
}

const SERVER_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
]);

/**
 * The object a write proposes, restricted to what that write may change:
 * `/status` takes only status; a main write of a status-subresource resource
 * keeps the current status. Server metadata always comes from `current`.
 */
function scopeCandidate(
  def: ResourceDef,
  current: StoredObject,
  proposed: JsonMap,
  subresource: 'status' | undefined,
): StoredObject {
  const proposedMeta = isJsonMap(proposed['metadata']) ? proposed['metadata'] : {};
  const managedFields = proposedMeta['managedFields'] ?? current.metadata.managedFields;
  if (subresource === 'status') {
    const out = clone(current);
    if (proposed['status'] === undefined) delete out['status'];
    else out['status'] = clone(proposed['status']);
    if (managedFields !== undefined) out.metadata.managedFields = readManagedFields(managedFields);
    return out;
  }
  const out: StoredObject = {
    ...clone(proposed),
    apiVersion: current.apiVersion,
    kind: current.kind,
    metadata: {
      ...userMetadata(proposedMeta),
      name: current.metadata.name,
      ...(current.metadata.namespace === undefined
        ? {}
        : { namespace: current.metadata.namespace }),
      uid: current.metadata.uid,
      resourceVersion: current.metadata.resourceVersion,
      generation: current.metadata.generation,
      creationTimestamp: current.metadata.creationTimestamp,
    },
  };
  if (managedFields !== undefined) out.metadata.managedFields = readManagedFields(managedFields);
  if (def.statusSubresource) {
    if (current['status'] === undefined) delete out['status'];
    else out['status'] = clone(current['status']);
  }
  return out;
}

/** apiVersion, kind, metadata first (as the real server serializes), then the body's fields. */
function assemble(
  apiVersion: string,
  kind: string,
  body: JsonMap,
  metadata: ObjectMeta,
): StoredObject {
  const out: StoredObject = { apiVersion, kind, metadata };
  for (const [key, value] of Object.entries(body)) {
    if (key === 'apiVersion' || key === 'kind' || key === 'metadata' || value === undefined)
      continue;
    out[key] = clone(value);
  }
  return out;
}

function specChanged(def: ResourceDef, before: StoredObject, after: StoredObject): boolean {
  const strip = (obj: StoredObject): JsonMap => {
    const rest: JsonMap = { ...obj, metadata: undefined };
    if (def.statusSubresource) delete rest['status'];
    return rest;
  };
  return !deepEqual(strip(before), strip(after));
}

function isUnchanged(before: StoredObject, after: StoredObject): boolean {
  const strip = (obj: StoredObject): JsonMap => ({
    ...obj,
    metadata: { ...obj.metadata, managedFields: undefined, resourceVersion: undefined },
  });
  return deepEqual(strip(before), strip(after));
}

function checkResourceVersion(def: ResourceDef, current: StoredObject, sent: unknown): void {
  if (sent === undefined || sent === null || sent === '') return;
  if (JSON.stringify(sent) !== JSON.stringify(current.metadata.resourceVersion)) {
    throw conflict(def.group, def.plural, current.metadata.name);
  }
}

function updater(options: WriteOptions): { manager: string; operation: 'Update' } {
  const manager = options.fieldManager;
  return {
    manager: manager === undefined || manager === '' ? 'unknown' : manager,
    operation: 'Update',
  };
}

function samePath(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

/** The API server labels every namespace with its own name. */
function addNamespaceNameLabel(ns: StoredObject): void {
  ns.metadata.labels = { ...ns.metadata.labels, 'kubernetes.io/metadata.name': ns.metadata.name };
}
