/**
 * What the history integration tests share: a small cluster written through
 * the API (two nodes, a shop namespace, a web pod per node, a client pod), a
 * controller started in-process against the same server, the hashes
 * translate+render give for the objects an {@link ApiView} shows, and
 * `eventually`, which waits for a condition on in-process state no watch
 * event follows (the controller's history, its metrics; checked every few
 * milliseconds, with a deadline) — waiting on an outcome, never sleeping for
 * a guessed duration. State on the server is waited for on the view's watch
 * events.
 */
import { startController, type ControllerHandle } from '../../src/controller/main.js';
import { DEFAULTS, type ControllerOptions } from '../../src/controller/options.js';
import { renderScript } from '../../src/nft/render.js';
import { clusterFromObjects } from '../../src/policy/from-k8s.js';
import { translateNode } from '../../src/policy/translate.js';
import { createLogger } from '../../src/telemetry/log.js';
import { watchResources, type ApiView, type TestApi } from './test-api.js';

const NFW = 'nodefirewalls';
const SOURCES = ['namespaces', 'nodes', 'pods', 'networkpolicies'] as const;

/** Writes nodes n1, n2; namespace shop; web-1 on n1, web-2 on n2, client on n2. */
export async function seedCluster(api: TestApi): Promise<void> {
  await api.create([
    ...['n1', 'n2'].map((name, i) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name },
      spec: { podCIDR: `10.${i + 1}.0.0/16` },
      status: { addresses: [{ type: 'InternalIP', address: `172.16.0.${i + 1}` }] },
    })),
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
    podObject('web-1', { app: 'web' }, 'n1', '10.1.0.1'),
    podObject('web-2', { app: 'web' }, 'n2', '10.2.0.1'),
    podObject('client', { app: 'client' }, 'n2', '10.2.0.2'),
  ]);
}

/**
 * Creates Lease kube-system/`name` held for an hour by `another-replica`, so
 * that a controller started with leaderElect on that Lease stays a standby.
 */
export async function holdLease(api: TestApi, name: string): Promise<void> {
  await api.create([
    {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: 'kube-system' },
      spec: {
        holderIdentity: 'another-replica',
        leaseDurationSeconds: 3600,
        // A MicroTime: six fractional digits.
        renewTime: new Date().toISOString().replace(/Z$/, '000Z'),
      },
    },
  ]);
}

/** Watches what the history tests read: the cluster's objects and the NodeFirewalls. */
export function watchCluster(api: TestApi): Promise<ApiView> {
  return watchResources(api, [...SOURCES, NFW]);
}

/** A running pod in namespace shop. */
export function podObject(
  name: string,
  labels: Record<string, string>,
  nodeName: string,
  ip: string,
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'shop', labels },
    spec: { nodeName, containers: [{ name: 'c', image: 'x' }] },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
  };
}

/** A policy in shop admitting `from` pods to the web pods on `port`. */
export function webPolicy(name: string, from: string, port: number): Record<string, unknown> {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: 'shop' },
    spec: {
      podSelector: { matchLabels: { app: 'web' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: from } } }], ports: [{ port }] }],
    },
  };
}

/** The hash translate+render give each node for the objects the view shows. */
export function expectedHashes(view: ApiView): Map<string, string> {
  const objects = SOURCES.flatMap((plural) =>
    view.list(plural).map((object, i) => ({ source: `${plural}#${i}`, object })),
  );
  const { cluster } = clusterFromObjects(objects);
  return new Map(
    cluster.nodes.map((n) => [n.name, renderScript(translateNode(cluster, n.name)).scriptHash]),
  );
}

/** `spec.scriptHash` of each NodeFirewall the view shows. */
export function writtenHashes(view: ApiView): Map<string, string> {
  return new Map(
    view
      .list(NFW)
      .map((o) => [o.metadata.name, (o['spec'] as { scriptHash: string }).scriptHash] as const),
  );
}

/** True when every node's NodeFirewall holds the hash translate+render give. */
export function converged(view: ApiView): boolean {
  const want = expectedHashes(view);
  const have = writtenHashes(view);
  return want.size === have.size && [...want].every(([n, h]) => have.get(n) === h);
}

/**
 * Resolves once the view shows `change` (the write the test made, seen by
 * the view) and every NodeFirewall converged on it; checked after every
 * watch event.
 */
export function waitConverged(view: ApiView, change: () => boolean, what: string): Promise<void> {
  return view.waitFor(() => change() && converged(view), what, {
    timeoutMs: 15_000,
    detail: () => {
      const want = expectedHashes(view);
      const have = writtenHashes(view);
      const behind = [...want.keys()].filter((n) => have.get(n) !== want.get(n));
      return `change seen: ${String(change())}; nodes behind: ${behind.join(', ') || 'none'}`;
    },
  });
}

/** NodeFirewall applies (server-side apply PATCHes) the API server has answered with success. */
export function nodeFirewallApplies(api: TestApi): number {
  return api
    .writes()
    .filter(
      (w) =>
        w.resource === NFW &&
        w.subresource === undefined &&
        w.verb === 'patch' &&
        w.code !== undefined &&
        w.code >= 200 &&
        w.code < 300,
    ).length;
}

/** Starts a single-replica controller (no leader election) and waits until it synced. */
export async function startTestController(
  api: TestApi,
  over: Partial<ControllerOptions> = {},
): Promise<ControllerHandle> {
  const options: ControllerOptions = {
    ...DEFAULTS,
    identity: 'history-test',
    leaderElect: false,
    debounceMs: 10,
    maxDelayMs: 100,
    healthPort: -1,
    historyPort: -1,
    logLevel: 'silent',
    informerBackoffMs: 50,
    informerMaxBackoffMs: 500,
    retryDelayMs: 50,
    ...over,
  };
  const handle = await startController(options, api.kubeConfig, {
    log: createLogger({ component: 'history-test', level: 'silent' }),
  });
  await handle.synced;
  return handle;
}

/**
 * Resolves once `predicate` (sync or async) on in-process state holds;
 * rejects after `timeoutMs` naming `what`.
 */
export async function eventually(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
