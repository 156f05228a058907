/**
 * One API server for an integration suite, reached only through HTTP with a
 * kubeconfig — the real kube-apiserver when KUBEBUILDER_ASSETS has one (the
 * default tier), or the embedded server where a suite needs a fault the real
 * one cannot give on demand (a cut watch, 410 Gone, an outage).
 *
 * Tests write objects with plain JSON requests and observe everything with
 * an {@link ApiView} (list + watch): nothing reads a server's store. The
 * product under test uses @kubernetes/client-node against the same
 * kubeconfig; the requests here are deliberately raw JSON so that the test
 * side never shares the client's serialisation.
 */
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { startApiServer, type ApiServer, type ApiServerOptions } from './apiserver/server.js';
import {
  controlPlaneAssets,
  startRealControlPlane,
  type AuditEvent,
  type RealControlPlane,
} from './kube-apiserver.js';

/** Which server a suite runs against. */
export type ServerKind = 'kube-apiserver' | 'embedded';

/** A JSON object as the API serves it. */
export type ApiObject = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    generation?: number;
    labels?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
};

/** A resource the tests use: where it lives and whether it is namespaced. */
interface Resource {
  readonly plural: string;
  readonly kind: string;
  readonly apiVersion: string;
  readonly namespaced: boolean;
}

/** Every resource the integration tier writes or watches. */
const RESOURCES: readonly Resource[] = [
  { plural: 'namespaces', kind: 'Namespace', apiVersion: 'v1', namespaced: false },
  { plural: 'nodes', kind: 'Node', apiVersion: 'v1', namespaced: false },
  { plural: 'pods', kind: 'Pod', apiVersion: 'v1', namespaced: true },
  { plural: 'serviceaccounts', kind: 'ServiceAccount', apiVersion: 'v1', namespaced: true },
  { plural: 'secrets', kind: 'Secret', apiVersion: 'v1', namespaced: true },
  { plural: 'services', kind: 'Service', apiVersion: 'v1', namespaced: true },
  { plural: 'configmaps', kind: 'ConfigMap', apiVersion: 'v1', namespaced: true },
  { plural: 'events', kind: 'Event', apiVersion: 'v1', namespaced: true },
  {
    plural: 'networkpolicies',
    kind: 'NetworkPolicy',
    apiVersion: 'networking.k8s.io/v1',
    namespaced: true,
  },
  { plural: 'leases', kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', namespaced: true },
  {
    plural: 'nodefirewalls',
    kind: 'NodeFirewall',
    apiVersion: 'nftpol.io/v1alpha1',
    namespaced: false,
  },
  {
    plural: 'addresssets',
    kind: 'AddressSet',
    apiVersion: 'nftpol.io/v1alpha1',
    namespaced: false,
  },
  {
    // Served only once installed: see installClusterPolicyCrd.
    plural: 'clusternetworkpolicies',
    kind: 'ClusterNetworkPolicy',
    apiVersion: 'policy.networking.k8s.io/v1alpha2',
    namespaced: false,
  },
  {
    plural: 'customresourcedefinitions',
    kind: 'CustomResourceDefinition',
    apiVersion: 'apiextensions.k8s.io/v1',
    namespaced: false,
  },
  {
    plural: 'clusterroles',
    kind: 'ClusterRole',
    apiVersion: 'rbac.authorization.k8s.io/v1',
    namespaced: false,
  },
  {
    plural: 'clusterrolebindings',
    kind: 'ClusterRoleBinding',
    apiVersion: 'rbac.authorization.k8s.io/v1',
    namespaced: false,
  },
  { plural: 'roles', kind: 'Role', apiVersion: 'rbac.authorization.k8s.io/v1', namespaced: true },
  {
    plural: 'rolebindings',
    kind: 'RoleBinding',
    apiVersion: 'rbac.authorization.k8s.io/v1',
    namespaced: true,
  },
  { plural: 'deployments', kind: 'Deployment', apiVersion: 'apps/v1', namespaced: true },
  { plural: 'daemonsets', kind: 'DaemonSet', apiVersion: 'apps/v1', namespaced: true },
  {
    plural: 'poddisruptionbudgets',
    kind: 'PodDisruptionBudget',
    apiVersion: 'policy/v1',
    namespaced: true,
  },
  {
    plural: 'validatingadmissionpolicies',
    kind: 'ValidatingAdmissionPolicy',
    apiVersion: 'admissionregistration.k8s.io/v1',
    namespaced: false,
  },
  {
    plural: 'validatingadmissionpolicybindings',
    kind: 'ValidatingAdmissionPolicyBinding',
    apiVersion: 'admissionregistration.k8s.io/v1',
    namespaced: false,
  },
];

/** The resource of `plural`. @throws Error for one the tier does not know. */
function resource(plural: string): Resource {
  const r = RESOURCES.find((x) => x.plural === plural);
  if (r === undefined) throw new Error(`test-api: unknown resource ${plural}`);
  return r;
}

function resourceOfObject(object: ApiObject): Resource {
  const r = RESOURCES.find((x) => x.kind === object.kind && x.apiVersion === object.apiVersion);
  if (r === undefined)
    throw new Error(
      `test-api: no resource for ${String(object.apiVersion)} ${String(object.kind)}`,
    );
  return r;
}

/** The collection path of `plural` (in `namespace` when given and namespaced). */
export function collectionPath(plural: string, namespace?: string): string {
  const r = resource(plural);
  const prefix = r.apiVersion === 'v1' ? '/api/v1' : `/apis/${r.apiVersion}`;
  return r.namespaced && namespace !== undefined
    ? `${prefix}/namespaces/${namespace}/${plural}`
    : `${prefix}/${plural}`;
}

/** The path of one object. */
export function objectPath(plural: string, name: string, namespace?: string): string {
  return `${collectionPath(plural, namespace)}/${name}`;
}

/** An HTTP answer from the API server that was not 2xx. */
export class ApiStatusError extends Error {
  readonly code: number;
  readonly body: string;
  constructor(method: string, path: string, code: number, body: string) {
    let message = body;
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      // not a Status object
    }
    super(`${method} ${path}: ${code}: ${message}`);
    this.code = code;
    this.body = body;
  }
}

/** Options of one raw request. */
export interface RequestOpts {
  readonly body?: unknown;
  /** @default 'application/json' */
  readonly contentType?: string;
}

/** An API server and its kubeconfig, for one suite. */
export interface TestApi {
  readonly kind: ServerKind;
  /** e.g. `kube-apiserver v1.32.13` or `embedded`. */
  readonly label: string;
  /** Cluster administrator. */
  readonly kubeConfig: KubeConfig;
  /** A kubeconfig file for the administrator, for child processes (`--kubeconfig`). */
  readonly kubeconfigPath: string;
  /** The embedded server, for fault injection only (never to read state). */
  readonly embedded: ApiServer | undefined;
  /** The real control plane (audit log, user and token kubeconfigs). */
  readonly real: RealControlPlane | undefined;
  /** A raw JSON request as the administrator; resolves with the parsed body. @throws ApiStatusError */
  request<T = ApiObject>(method: string, path: string, opts?: RequestOpts): Promise<T>;
  /** Creates each object (a `v1 List` is unpacked); writes `status` through the subresource. */
  create(objects: readonly unknown[]): Promise<void>;
  /** GET one object, or undefined on 404. */
  get(plural: string, name: string, namespace?: string): Promise<ApiObject | undefined>;
  /** A JSON merge patch; `status: true` patches the status subresource. */
  mergePatch(
    plural: string,
    name: string,
    patch: unknown,
    opts?: { namespace?: string; status?: boolean },
  ): Promise<ApiObject>;
  /** DELETE (404 ignored); Pods without a grace period, as no kubelet confirms them. */
  remove(plural: string, name: string, namespace?: string): Promise<void>;
  /** Writes that reached the server (create/update/patch/delete), from the audit log or the request log. */
  writes(): WriteRecord[];
  stop(): Promise<void>;
}

/** One write request that reached the server. */
export interface WriteRecord {
  readonly verb: 'create' | 'update' | 'patch' | 'delete';
  readonly resource: string;
  readonly subresource: string | undefined;
  readonly name: string | undefined;
  readonly user: string;
  readonly code: number | undefined;
}

/** Options of {@link startTestApi}. */
export interface TestApiOptions {
  /** @default 'kube-apiserver' */
  readonly server?: ServerKind;
  /** Run kube-controller-manager (garbage collector) too. Real server only. */
  readonly controllerManager?: boolean;
  /** Options for the embedded server. */
  readonly embedded?: ApiServerOptions;
  /**
   * Install the ClusterNetworkPolicy CRD (our test fixture) before the suite
   * starts; see {@link installClusterPolicyCrd}. Off by default: nftpol must
   * run without it.
   * @default false
   */
  readonly clusterPolicyCrd?: boolean;
}

/**
 * Why the real-server tier cannot run here, or undefined when it can. Suites
 * pass it as `describe(name, { skip: realServerSkip() }, …)`: one clear line.
 */
export function realServerSkip(): string | undefined {
  const assets = controlPlaneAssets();
  return assets.kind === 'found' ? undefined : `no real kube-apiserver: ${assets.why}`;
}

/** nftpol's CRDs, installed on the real server before a suite starts. */
const CRDS = ['nodefirewalls.nftpol.io.yaml', 'addresssets.nftpol.io.yaml'].map((file) =>
  join(import.meta.dirname, '..', '..', 'crds', file),
);

/**
 * Our structural ClusterNetworkPolicy CRD (written from the upstream Go
 * types; not the upstream file), for tests and `make demo` only.
 */
export const CLUSTER_POLICY_CRD = join(
  import.meta.dirname,
  '..',
  'fixtures',
  'crds',
  'clusternetworkpolicies.policy.networking.k8s.io.yaml',
);

/**
 * Starts the API server a suite asked for, with the NodeFirewall and
 * AddressSet CRDs established (and the ClusterNetworkPolicy CRD when
 * `options.clusterPolicyCrd`).
 */
export async function startTestApi(suite: string, options: TestApiOptions = {}): Promise<TestApi> {
  const kind = options.server ?? 'kube-apiserver';
  const tmp = mkdtempSync(join(tmpdir(), 'nftpol-api-'));
  let api: TestApi;
  if (kind === 'embedded') {
    const server = await startApiServer(options.embedded ?? {});
    const kubeconfigPath = join(tmp, 'kubeconfig');
    writeFileSync(
      kubeconfigPath,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'test', cluster: { server: server.url, 'insecure-skip-tls-verify': true } },
        ],
        users: [{ name: 'user', user: { token: 'nftpol-test' } }],
        contexts: [{ name: 'test', context: { cluster: 'test', user: 'user' } }],
        'current-context': 'test',
      }),
    );
    api = makeTestApi(kind, 'embedded', kubeconfigPath, server, undefined, async () => {
      await server.close();
      rmSync(tmp, { recursive: true, force: true });
    });
  } else {
    const assets = controlPlaneAssets();
    if (assets.kind === 'missing') throw new Error(`no real kube-apiserver: ${assets.why}`);
    const real = await startRealControlPlane(assets.dir, {
      ...(options.controllerManager === undefined
        ? {}
        : { controllerManager: options.controllerManager }),
    });
    api = makeTestApi(
      kind,
      `kube-apiserver ${real.version}`,
      real.kubeconfigPath,
      undefined,
      real,
      async () => {
        await real.stop();
        rmSync(tmp, { recursive: true, force: true });
      },
    );
    try {
      await ensureDefaultServiceAccount((m, p, o) => api.request(m, p, o), 'default');
      await Promise.all(CRDS.map((file) => installCrd(api, readFileSync(file, 'utf8'))));
    } catch (err) {
      await api.stop();
      throw err;
    }
  }
  if (options.clusterPolicyCrd === true) {
    try {
      await installClusterPolicyCrd(api);
    } catch (err) {
      await api.stop();
      throw err;
    }
  }
  // The spec reporter shows a suite's stdout: say which server it used.
  console.log(`# ${suite}: API server ${api.label}`);
  return api;
}

/**
 * Makes the server serve policy.networking.k8s.io/v1alpha2
 * clusternetworkpolicies, as installing network-policy-api's CRD does: on the
 * real server, creates {@link CLUSTER_POLICY_CRD} and resolves once it is
 * Established; on the embedded one, installs the resource in its store
 * (served and in discovery from now on). Any time during a suite, e.g. to
 * see the controller pick the CRD up after it started without it.
 */
export async function installClusterPolicyCrd(api: TestApi): Promise<void> {
  if (api.embedded !== undefined) {
    api.embedded.store.install('clusternetworkpolicies');
    return;
  }
  await installCrd(api, readFileSync(CLUSTER_POLICY_CRD, 'utf8'));
}

/** {@link startTestApi}, then {@link watchResources} on `plurals`; stops the server if the watch fails. */
export async function startWatchedApi(
  suite: string,
  plurals: readonly string[],
  options: TestApiOptions = {},
): Promise<{ api: TestApi; view: ApiView }> {
  const api = await startTestApi(suite, options);
  try {
    return { api, view: await watchResources(api, plurals) };
  } catch (err) {
    await api.stop();
    throw err;
  }
}

/** Creates a CRD from YAML and resolves once it is Established. */
export async function installCrd(api: TestApi, yaml: string): Promise<void> {
  const crd = parseAllDocuments(yaml)[0]?.toJSON() as ApiObject;
  await api.create([crd]);
  const view = await watchResources(api, ['customresourcedefinitions']);
  try {
    await view.waitFor(() => {
      const c = view.get('customresourcedefinitions', crd.metadata.name);
      const conds = (
        c?.['status'] as { conditions?: { type: string; status: string }[] } | undefined
      )?.conditions;
      return conds?.some((x) => x.type === 'Established' && x.status === 'True') === true;
    }, `CRD ${crd.metadata.name} Established`);
  } finally {
    view.stop();
  }
}

function makeTestApi(
  kind: ServerKind,
  label: string,
  kubeconfigPath: string,
  embedded: ApiServer | undefined,
  real: RealControlPlane | undefined,
  stop: () => Promise<void>,
): TestApi {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const request = <T>(method: string, path: string, opts: RequestOpts = {}): Promise<T> =>
    rawRequest<T>(kubeConfig, method, path, opts);
  const api: TestApi = {
    kind,
    label,
    kubeConfig,
    kubeconfigPath,
    embedded,
    real,
    request,
    create: async (objects) => {
      for (const object of objects.flatMap(unpackList)) {
        const r = resourceOfObject(object);
        const ns = r.namespaced ? (object.metadata.namespace ?? 'default') : undefined;
        const created = await request<ApiObject>('POST', collectionPath(r.plural, ns), {
          body: object,
        });
        // What kube-controller-manager would do, so that Pods pass ServiceAccount admission.
        if (r.plural === 'namespaces' && real !== undefined)
          await ensureDefaultServiceAccount(request, object.metadata.name);
        if (object['status'] !== undefined && r.plural !== 'customresourcedefinitions')
          await request('PUT', `${objectPath(r.plural, object.metadata.name, ns)}/status`, {
            body: { ...created, status: object['status'] },
          });
      }
    },
    get: async (plural, name, namespace) => {
      try {
        return await request<ApiObject>('GET', objectPath(plural, name, namespace));
      } catch (err) {
        if (err instanceof ApiStatusError && err.code === 404) return undefined;
        throw err;
      }
    },
    mergePatch: (plural, name, patch, opts = {}) =>
      request<ApiObject>(
        'PATCH',
        `${objectPath(plural, name, opts.namespace)}${opts.status === true ? '/status' : ''}`,
        { body: patch, contentType: 'application/merge-patch+json' },
      ),
    remove: async (plural, name, namespace) => {
      // No kubelet confirms a Pod's graceful deletion here: delete at once,
      // as `kubectl delete --grace-period=0 --force` does.
      const query = plural === 'pods' ? '?gracePeriodSeconds=0' : '';
      try {
        await request('DELETE', `${objectPath(plural, name, namespace)}${query}`);
      } catch (err) {
        if (!(err instanceof ApiStatusError && err.code === 404)) throw err;
      }
    },
    writes: () => (real !== undefined ? auditWrites(real.auditEvents()) : embeddedWrites(embedded)),
    stop,
  };
  return api;
}

/** Creates the `default` ServiceAccount of `namespace` unless it exists. */
async function ensureDefaultServiceAccount(
  request: <T>(method: string, path: string, opts?: RequestOpts) => Promise<T>,
  namespace: string,
): Promise<void> {
  try {
    await request('POST', collectionPath('serviceaccounts', namespace), {
      body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace } },
    });
  } catch (err) {
    if (!(err instanceof ApiStatusError && err.code === 409)) throw err;
  }
}

function unpackList(object: unknown): ApiObject[] {
  const o = object as { apiVersion?: unknown; kind?: unknown; items?: unknown };
  if (o.apiVersion === 'v1' && o.kind === 'List' && Array.isArray(o.items))
    return o.items.flatMap(unpackList);
  return [object as ApiObject];
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete']);

function auditWrites(events: readonly AuditEvent[]): WriteRecord[] {
  return events
    .filter((e) => WRITE_VERBS.has(e.verb) && e.objectRef?.resource !== undefined)
    .map((e) => ({
      verb: e.verb as WriteRecord['verb'],
      resource: e.objectRef?.resource ?? '',
      subresource: e.objectRef?.subresource,
      name: e.objectRef?.name,
      user: e.user.username,
      code: e.responseStatus?.code,
    }));
}

const METHOD_VERBS: Record<string, WriteRecord['verb']> = {
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

function embeddedWrites(server: ApiServer | undefined): WriteRecord[] {
  if (server === undefined) return [];
  return server.writes().map((r) => {
    // /api/v1/… or /apis/<group>/<version>/…, then [namespaces/<ns>/]<plural>[/<name>[/<sub>]]
    const parts = r.path.split('/').filter((p) => p !== '');
    let rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
    if (rest[0] === 'namespaces' && rest.length > 2) rest = rest.slice(2);
    return {
      verb: METHOD_VERBS[r.method] ?? 'update',
      resource: rest[0] ?? '',
      subresource: rest[2],
      name: rest[1],
      user: 'nftpol-test',
      code: r.status,
    };
  });
}

/** One raw request with `kc`'s credentials; parses the JSON answer. */
export async function rawRequest<T>(
  kc: KubeConfig,
  method: string,
  path: string,
  opts: RequestOpts = {},
): Promise<T> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server + path);
  const options: RequestOptions = { method, headers: { Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(options);
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  if (body !== undefined)
    options.headers = {
      ...options.headers,
      'Content-Type': opts.contentType ?? 'application/json',
    };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  if (url.protocol === 'http:') delete options.agent;
  const { status, text } = await new Promise<{ status: number; text: string }>(
    (resolve, reject) => {
      const req = send(url, options, (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(body);
    },
  );
  if (status < 200 || status > 299) throw new ApiStatusError(method, path, status, text);
  return (text === '' ? {} : JSON.parse(text)) as T;
}

/** What {@link watchResources} gives: the current objects, and a wait on them. */
export interface ApiView {
  list(plural: string): ApiObject[];
  get(plural: string, name: string, namespace?: string): ApiObject | undefined;
  /**
   * Resolves when `predicate` holds, checked now and after every watch event;
   * rejects after `timeoutMs` with `what` and `detail()`.
   */
  waitFor(
    predicate: () => boolean,
    what: string,
    opts?: { timeoutMs?: number; detail?: () => string },
  ): Promise<void>;
  /** Calls `listener` after every change the view sees; returns the unsubscribe. */
  subscribe(listener: () => void): () => void;
  /** Re-checks every waiter now (for state outside the API, e.g. a controller's batch hook). */
  notify(): void;
  stop(): void;
}

/** @default timeout of {@link ApiView.waitFor} */
export const VIEW_TIMEOUT_MS = 20_000;

/**
 * Lists and watches `plurals` (cluster-wide) as the administrator and keeps
 * the objects; re-lists when a watch ends. Resolves after the first lists.
 */
export async function watchResources(api: TestApi, plurals: readonly string[]): Promise<ApiView> {
  const { Watch } = await import('@kubernetes/client-node');
  const objects = new Map<string, Map<string, ApiObject>>(plurals.map((p) => [p, new Map()]));
  const listeners = new Set<() => void>();
  const aborts = new Set<AbortController>();
  let stopped = false;
  const changed = (): void => {
    for (const l of [...listeners]) l();
  };
  const keyOf = (o: ApiObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const watch = new Watch(api.kubeConfig);

  const run = async (plural: string): Promise<void> => {
    const path = collectionPath(plural);
    const list = await api.request<{ metadata: { resourceVersion: string }; items: ApiObject[] }>(
      'GET',
      path,
    );
    const map = objects.get(plural) ?? new Map<string, ApiObject>();
    map.clear();
    // Items of a list carry no apiVersion and kind (the real server strips them).
    const { apiVersion, kind } = resource(plural);
    for (const item of list.items) map.set(keyOf(item), { ...item, apiVersion, kind });
    changed();
    if (stopped) return;
    const abort = await watch.watch(
      path,
      { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true },
      (phase, obj: ApiObject) => {
        if (phase === 'ADDED' || phase === 'MODIFIED') map.set(keyOf(obj), obj);
        else if (phase === 'DELETED') map.delete(keyOf(obj));
        else return;
        changed();
      },
      () => {
        aborts.delete(abort);
        if (!stopped) void relist(plural);
      },
    );
    aborts.add(abort);
  };
  const relist = async (plural: string): Promise<void> => {
    for (let attempt = 0; !stopped; attempt++) {
      try {
        await run(plural);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 1_000)));
      }
    }
  };
  await Promise.all(plurals.map((p) => run(p)));

  const view: ApiView = {
    list: (plural) => [...(objects.get(plural)?.values() ?? [])],
    get: (plural, name, namespace) => objects.get(plural)?.get(`${namespace ?? ''}/${name}`),
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    waitFor: (predicate, what, opts = {}) =>
      new Promise((resolve, reject) => {
        let done = false;
        const finish = (err?: Error): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          unsubscribe();
          if (err === undefined) resolve();
          else reject(err);
        };
        const check = (): void => {
          try {
            if (predicate()) finish();
          } catch (err) {
            finish(err instanceof Error ? err : new Error(String(err)));
          }
        };
        const timer = setTimeout(() => {
          const more = opts.detail?.() ?? '';
          finish(new Error(`timed out waiting for ${what}${more === '' ? '' : `: ${more}`}`));
        }, opts.timeoutMs ?? VIEW_TIMEOUT_MS);
        const unsubscribe = view.subscribe(check);
        check();
      }),
    notify: changed,
    stop: () => {
      stopped = true;
      for (const a of aborts) a.abort();
      aborts.clear();
      listeners.clear();
    },
  };
  return view;
}
