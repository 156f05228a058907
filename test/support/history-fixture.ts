/**
 * What the history integration tests share: a small cluster in the embedded
 * API server (two nodes, a shop namespace, a web pod per node, a client pod),
 * a controller started in-process against it, the hashes translate+render
 * give for the objects in the store, and `eventually`, which waits for a
 * condition (checked every few milliseconds, with a deadline) — waiting on
 * an outcome, never sleeping for a guessed duration.
 */
import type { ApiServer } from '../../src/apiserver/server.js';
import { startController, type ControllerHandle } from '../../src/controller/main.js';
import { DEFAULTS, type ControllerOptions } from '../../src/controller/options.js';
import { kubeConfigForServer } from '../../src/k8s/client.js';
import { renderScript } from '../../src/nft/render.js';
import { clusterFromObjects } from '../../src/policy/from-k8s.js';
import { translateNode } from '../../src/policy/translate.js';
import { createLogger } from '../../src/telemetry/log.js';

const NFW = 'nodefirewalls';

/** Fills the store: nodes n1, n2; namespace shop; web-1 on n1, web-2 on n2, client on n2. */
export function seedCluster(server: ApiServer): void {
  const s = server.store;
  for (const [i, name] of ['n1', 'n2'].entries()) {
    s.create('nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name },
      spec: { podCIDR: `10.${i + 1}.0.0/16` },
      status: { addresses: [{ type: 'InternalIP', address: `172.16.0.${i + 1}` }] },
    });
  }
  s.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  s.create('pods', podObject('web-1', { app: 'web' }, 'n1', '10.1.0.1'));
  s.create('pods', podObject('web-2', { app: 'web' }, 'n2', '10.2.0.1'));
  s.create('pods', podObject('client', { app: 'client' }, 'n2', '10.2.0.2'));
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

/** The hash translate+render give each node for the objects in the store. */
export function expectedHashes(server: ApiServer): Map<string, string> {
  const objects = ['namespaces', 'nodes', 'pods', 'networkpolicies'].flatMap((plural) =>
    server.store.list(plural).items.map((object, i) => ({ source: `${plural}#${i}`, object })),
  );
  const { cluster } = clusterFromObjects(objects);
  return new Map(
    cluster.nodes.map((n) => [n.name, renderScript(translateNode(cluster, n.name)).scriptHash]),
  );
}

/** `spec.scriptHash` of each NodeFirewall in the store. */
export function writtenHashes(server: ApiServer): Map<string, string> {
  return new Map(
    server.store
      .list(NFW)
      .items.map(
        (o) => [o.metadata.name, (o['spec'] as { scriptHash: string }).scriptHash] as const,
      ),
  );
}

/** True when every node's NodeFirewall holds the hash translate+render give. */
export function converged(server: ApiServer): boolean {
  const want = expectedHashes(server);
  const have = writtenHashes(server);
  return want.size === have.size && [...want].every(([n, h]) => have.get(n) === h);
}

/** NodeFirewall applies the API server has received so far. */
export function nodeFirewallApplies(server: ApiServer): number {
  return server.writes().filter((r) => r.path.includes(`/${NFW}/`) && r.method === 'PATCH').length;
}

/** Starts a single-replica controller (no leader election) and waits until it synced. */
export async function startTestController(
  server: ApiServer,
  over: Partial<ControllerOptions> = {},
): Promise<ControllerHandle> {
  const options: ControllerOptions = {
    ...DEFAULTS,
    identity: 'history-test',
    leaderElect: false,
    debounceMs: 10,
    maxDelayMs: 100,
    healthPort: -1,
    logLevel: 'silent',
    informerBackoffMs: 50,
    informerMaxBackoffMs: 500,
    retryDelayMs: 50,
    ...over,
  };
  const handle = await startController(options, kubeConfigForServer(server.url), {
    log: createLogger({ component: 'history-test', level: 'silent' }),
  });
  await handle.synced;
  return handle;
}

/**
 * Resolves once `predicate` (sync or async) holds; rejects after `timeoutMs`
 * naming `what`.
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
