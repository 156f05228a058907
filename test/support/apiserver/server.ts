/**
 * The embedded API server: the REST and watch protocol of kube-apiserver over
 * plain HTTP, backed by {@link ApiStore}. It is what `make demo` runs and what
 * integration tests run the controller and executor against, with the real
 * `@kubernetes/client-node` on the other side (no stubs).
 *
 * Served: core v1 namespaces, nodes, pods, events; networking.k8s.io/v1
 * networkpolicies; coordination.k8s.io/v1 leases; nftpol.io/v1alpha1
 * nodefirewalls with its status subresource and addresssets (no status);
 * policy.networking.k8s.io/v1alpha2 clusternetworkpolicies only once
 * installed (`store.install`, or the `install` option), as a CRD;
 * discovery (`/api`, `/apis`, …)
 * and `/version`. No authentication or authorization: any bearer token works.
 *
 * Test hooks: `cutWatches()` drops every open watch (clients resume from their
 * last resourceVersion), `compact()` forgets history (resumes get 410 and
 * informers relist), and `requests` logs every call so tests can count writes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError } from './errors.js';
import { isJsonMap } from './json.js';
import { parsePatchBody, patchTypeOf } from './patch.js';
import {
  apiVersionOf,
  coreVersions,
  findResource,
  groupDocument,
  groups,
  groupList,
  resourceList,
  servesStatus,
  type ResourceDef,
  type Served,
} from './resources.js';
import { parseFieldSelector, parseLabelSelector, type ObjectFilter } from './selectors.js';
import { ApiStore, type StoredObject, type StoreOptions } from './store.js';
import { parseWatchStart, serveWatch, type ActiveWatch } from './watch.js';

/** Options of {@link startApiServer}. */
export interface ApiServerOptions extends StoreOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** Listen address. @default '127.0.0.1' */
  readonly host?: string;
  /** Interval between BOOKMARK events on watches that allow them. @default 60000 */
  readonly bookmarkIntervalMs?: number;
  /** Serve an existing store (e.g. to restart the server over the same state). */
  readonly store?: ApiStore;
}

/** One logged request. */
export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly contentType: string | undefined;
  /** HTTP status, set once the response head is sent. */
  status: number | undefined;
}

/** A running server. */
export interface ApiServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The objects; seed or inspect directly (same semantics as HTTP). */
  readonly store: ApiStore;
  /** Every request so far, oldest first. */
  readonly requests: RequestRecord[];
  /** Ends open watches and stops listening. */
  close(): Promise<void>;
  /** Ends every open watch; returns how many were open. */
  cutWatches(): number;
  /** Compacts the history at the current resourceVersion; returns it. */
  compact(): number;
  /** Requests that changed or tried to change state (POST, PUT, PATCH, DELETE). */
  writes(): RequestRecord[];
}

const MAX_BODY_BYTES = 3 * 1024 * 1024;
const VERSION_INFO = {
  major: '1',
  minor: '31',
  gitVersion: 'v1.31.0-nftpol',
  gitCommit: 'nftpol-embedded',
  gitTreeState: 'clean',
  buildDate: '2024-08-13T00:00:00Z',
  goVersion: 'go1.22.5',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** Starts listening; resolves once the port is bound. */
export async function startApiServer(options: ApiServerOptions = {}): Promise<ApiServer> {
  const store = options.store ?? new ApiStore(options);
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? 60_000;
  const requests: RequestRecord[] = [];
  const watches = new Set<ActiveWatch>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const record: RequestRecord = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: req.headers['content-type'],
      status: undefined,
    };
    requests.push(record);
    const context: RequestContext = {
      store,
      bookmarkIntervalMs,
      watches,
      record,
      host: req.headers.host ?? '',
    };
    handle(context, req, res, url).catch((err: unknown) => sendError(res, record, err));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const cutWatches = (): number => {
    const open = [...watches];
    for (const w of open) w.end();
    return open.length;
  };
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    store,
    requests,
    cutWatches,
    compact: () => store.compact(),
    writes: () => requests.filter((r) => r.method !== 'GET'),
    close: async () => {
      cutWatches();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

interface RequestContext {
  readonly store: ApiStore;
  readonly bookmarkIntervalMs: number;
  readonly watches: Set<ActiveWatch>;
  readonly record: RequestRecord;
  readonly host: string;
}

/** Where a resource URL points. */
interface ResourceRoute {
  readonly def: ResourceDef;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: 'status' | undefined;
}

async function handle(
  ctx: RequestContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const segments = url.pathname
    .split('/')
    .filter((s) => s !== '')
    .map(decodeURIComponent);
  const served = (d: ResourceDef): boolean => ctx.store.serves(d);
  const discovery = discover(segments, ctx.host, served);
  if (discovery !== undefined) {
    if (req.method !== 'GET') throw new ApiError('MethodNotAllowed', 'discovery is read-only');
    sendJson(res, ctx.record, 200, discovery);
    return;
  }
  const route = routeResource(segments, served);
  const query = url.searchParams;
  const method = req.method ?? 'GET';
  const { def } = route;
  const fieldManager = query.get('fieldManager') ?? undefined;
  const dryRun = query.get('dryRun') === 'All';

  if (route.name === undefined) {
    switch (method) {
      case 'GET': {
        const filter = filterOf(def, route.namespace, query);
        const watch = query.get('watch');
        if (watch === 'true' || watch === '1') {
          const resourceVersion = query.get('resourceVersion') ?? undefined;
          parseWatchStart(resourceVersion);
          const timeout = query.get('timeoutSeconds');
          ctx.record.status = 200;
          const active = serveWatch(
            ctx.store,
            {
              resource: def,
              filter,
              resourceVersion,
              allowBookmarks: query.get('allowWatchBookmarks') === 'true',
              bookmarkIntervalMs: ctx.bookmarkIntervalMs,
              timeoutSeconds: timeout === null ? undefined : Number(timeout),
            },
            res,
          );
          ctx.watches.add(active);
          res.on('close', () => ctx.watches.delete(active));
          return;
        }
        const { items, resourceVersion } = ctx.store.list(def.plural, filter);
        sendJson(res, ctx.record, 200, listOf(def, items, resourceVersion));
        return;
      }
      case 'POST': {
        const body = parseJson(await readBody(req));
        const created = ctx.store.create(def.plural, body, {
          namespace: route.namespace,
          fieldManager,
          dryRun,
        });
        sendJson(res, ctx.record, 201, created);
        return;
      }
      case 'DELETE': {
        const filter = filterOf(def, route.namespace, query);
        const deleted = ctx.store
          .list(def.plural, filter)
          .items.map((o) =>
            ctx.store.delete(def.plural, o.metadata.namespace, o.metadata.name, { dryRun }),
          );
        sendJson(res, ctx.record, 200, listOf(def, deleted, String(ctx.store.resourceVersion)));
        return;
      }
      default:
        throw new ApiError('MethodNotAllowed', `method ${method} not allowed on a collection`);
    }
  }

  const name = route.name;
  const target = { namespace: route.namespace, name, subresource: route.subresource };
  switch (method) {
    case 'GET': {
      const found = ctx.store.get(def.plural, route.namespace, name);
      if (found === undefined) throw notFoundFor(def, name);
      sendJson(res, ctx.record, 200, found);
      return;
    }
    case 'PUT': {
      const body = parseJson(await readBody(req));
      const updated = ctx.store.replace(def.plural, body, { ...target, fieldManager, dryRun });
      sendJson(res, ctx.record, 200, updated);
      return;
    }
    case 'PATCH': {
      const type = patchTypeOf(req.headers['content-type']);
      const patch = parsePatchBody(type, await readBody(req));
      const existed = ctx.store.get(def.plural, route.namespace, name) !== undefined;
      const patched = ctx.store.patch(def.plural, target, type, patch, {
        fieldManager,
        dryRun,
        force: query.get('force') === 'true',
      });
      sendJson(res, ctx.record, existed ? 200 : 201, patched);
      return;
    }
    case 'DELETE': {
      if (route.subresource !== undefined) {
        throw new ApiError('MethodNotAllowed', 'cannot delete a subresource');
      }
      const text = await readBody(req);
      const options = text.trim() === '' ? {} : parseJson(text);
      const preconditions = isJsonMap(options) ? options['preconditions'] : undefined;
      const deleted = ctx.store.delete(def.plural, route.namespace, name, {
        dryRun,
        preconditions: isJsonMap(preconditions)
          ? {
              uid: stringOrUndefined(preconditions['uid']),
              resourceVersion: stringOrUndefined(preconditions['resourceVersion']),
            }
          : undefined,
      });
      sendJson(res, ctx.record, 200, deleted);
      return;
    }
    default:
      throw new ApiError('MethodNotAllowed', `method ${method} not allowed`);
  }
}

/** Discovery documents and /version; undefined when the path is a resource path. */
function discover(segments: readonly string[], host: string, served: Served): object | undefined {
  const [root, a, b, c] = segments;
  if (root === 'version' && a === undefined) return VERSION_INFO;
  if (root === 'api') {
    if (a === undefined) return coreVersions(host);
    if (b === undefined) return resourceList('', a, served) ?? notServed();
    return undefined;
  }
  if (root === 'apis') {
    if (a === undefined) return groupList(served);
    if (b === undefined) return groups(served).includes(a) ? groupDocument(a, served) : notServed();
    if (c === undefined) return resourceList(a, b, served) ?? notServed();
    return undefined;
  }
  return notServed();
}

function routeResource(segments: readonly string[], served: Served): ResourceRoute {
  const [root, a, b, ...rest] = segments;
  const [group, version, path] =
    root === 'api' ? ['', a ?? '', [b ?? '', ...rest]] : [a ?? '', b ?? '', rest];
  const [first, second, third, fourth, fifth, ...extra] = path;
  if (first === 'namespaces' && third !== undefined) {
    const def = findResource(group, version, third, served);
    if (def?.namespaced === true) {
      if (extra.length > 0) notServed();
      return { def, namespace: second, name: fourth, subresource: subresourceOf(def, fifth) };
    }
  }
  const def = findResource(group, version, first ?? '', served);
  if (def === undefined || fourth !== undefined) return notServed();
  if (def.namespaced && second !== undefined) return notServed();
  return { def, namespace: undefined, name: second, subresource: subresourceOf(def, third) };
}

function subresourceOf(def: ResourceDef, segment: string | undefined): 'status' | undefined {
  if (segment === undefined) return undefined;
  if (segment === 'status' && servesStatus(def)) return 'status';
  return notServed();
}

function notServed(): never {
  throw new ApiError('NotFound', 'the server could not find the requested resource');
}

function notFoundFor(def: ResourceDef, name: string): ApiError {
  const plural = def.group === '' ? def.plural : `${def.plural}.${def.group}`;
  return new ApiError('NotFound', `${plural} "${name}" not found`, {
    name,
    group: def.group,
    kind: def.plural,
  });
}

function filterOf(
  def: ResourceDef,
  namespace: string | undefined,
  query: URLSearchParams,
): ObjectFilter {
  const labels = query.get('labelSelector');
  const fields = query.get('fieldSelector');
  return {
    namespace,
    labels: labels === null || labels === '' ? undefined : parseLabelSelector(labels),
    fields: fields === null || fields === '' ? undefined : parseFieldSelector(fields, def),
  };
}

function listOf(def: ResourceDef, items: readonly StoredObject[], resourceVersion: string): object {
  return {
    kind: def.listKind,
    apiVersion: apiVersionOf(def),
    metadata: { resourceVersion },
    items: def.crd ? items : items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new ApiError(
        'RequestEntityTooLarge',
        `Request entity too large: limit is ${MAX_BODY_BYTES}`,
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiError('BadRequest', `error decoding request body: ${(err as Error).message}`);
  }
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function sendJson(res: ServerResponse, record: RequestRecord, code: number, body: object): void {
  record.status = code;
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendError(res: ServerResponse, record: RequestRecord, err: unknown): void {
  const apiError =
    err instanceof ApiError
      ? err
      : new ApiError('InternalError', err instanceof Error ? err.message : String(err));
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, record, apiError.code, apiError.toStatus());
}
