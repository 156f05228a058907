/**
 * The whole product on one machine, seen from the store of the embedded API
 * server: what Cluster the objects in it describe, which nodes do not yet
 * enforce it, and a wait until every node does. Shared by the end-to-end
 * test, the time-to-enforce benchmark and `make demo`, which each start the
 * API server, the controller and one executor per node in their own way
 * (in-process or as child processes) but agree on what "enforced" means:
 * every node's NodeFirewall carries the script the store's objects give, and
 * its executor reports that script applied.
 *
 * Synchronisation is by the store's change feed (a predicate checked now and
 * after every committed change, executors' status writes included), never by
 * sleeping.
 */
import type { ApiServer } from '../../src/apiserver/server.js';
import { RESOURCES, apiVersionOf } from '../../src/apiserver/resources.js';
import { PLURAL as NFW, type NodeFirewallStatus } from '../../src/k8s/nodefirewall.js';
import { renderScript } from '../../src/nft/render.js';
import { clusterFromObjects, type SourcedObject } from '../../src/policy/from-k8s.js';
import type { Cluster } from '../../src/policy/model.js';
import { translateNode } from '../../src/policy/translate.js';

/** The resources a Cluster is built from. */
export const SOURCE_PLURALS = ['namespaces', 'nodes', 'pods', 'networkpolicies'] as const;

/** How long {@link waitForEnforced} waits by default. */
export const ENFORCE_TIMEOUT_MS = 20_000;

/**
 * The Cluster the objects in the store describe (what the oracle judges).
 * @throws Error listing the problems when an object does not convert.
 */
export function clusterInStore(server: ApiServer): Cluster {
  const objects = SOURCE_PLURALS.flatMap((plural) =>
    server.store.list(plural).items.map((object, i) => ({ source: `${plural}#${i}`, object })),
  );
  const { cluster, problems } = clusterFromObjects(objects);
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length > 0)
    throw new Error(
      `the objects in the store do not convert: ${errors.map((p) => `${p.object}: ${p.field}: ${p.message}`).join('; ')}`,
    );
  return cluster;
}

/** Nodes whose NodeFirewall does not yet carry, and report applied, the script of `cluster`. */
export function nodesBehind(server: ApiServer, cluster: Cluster): string[] {
  return cluster.nodes
    .filter((n) => {
      const { script, scriptHash } = renderScript(translateNode(cluster, n.name));
      const nfw = server.store.get(NFW, undefined, n.name);
      const spec = nfw?.['spec'] as { script?: string; scriptHash?: string } | undefined;
      const status = nfw?.['status'] as NodeFirewallStatus | undefined;
      const applied = status?.conditions?.find((c) => c.type === 'Applied');
      return !(
        spec?.script === script &&
        spec.scriptHash === scriptHash &&
        status?.appliedHash === scriptHash &&
        applied?.status === 'True'
      );
    })
    .map((n) => n.name);
}

/**
 * Resolves with the store's Cluster once every node's executor reports the
 * script that Cluster gives as applied; checked now and after every
 * committed change.
 * @throws Error (rejects) after `timeoutMs`, naming `what` and the nodes behind.
 */
export function waitForEnforced(
  server: ApiServer,
  what: string,
  timeoutMs: number = ENFORCE_TIMEOUT_MS,
): Promise<Cluster> {
  return new Promise((resolve, reject) => {
    let unsubscribe = (): void => undefined;
    const timer = setTimeout(() => {
      unsubscribe();
      const behind = nodesBehind(server, clusterInStore(server));
      reject(new Error(`timed out waiting for ${what}; nodes behind: ${behind.join(', ')}`));
    }, timeoutMs);
    const check = (): boolean => {
      let cluster: Cluster;
      try {
        cluster = clusterInStore(server);
      } catch (err) {
        clearTimeout(timer);
        unsubscribe();
        reject(err instanceof Error ? err : new Error(String(err)));
        return true;
      }
      if (nodesBehind(server, cluster).length > 0) return false;
      clearTimeout(timer);
      unsubscribe();
      resolve(cluster);
      return true;
    };
    if (check()) return;
    // Changes are committed before listeners run; check once the call returned.
    unsubscribe = server.store.history.subscribe(() => queueMicrotask(() => void check()));
  });
}

/**
 * Creates manifests in the store, as `kubectl create -f` would (a `v1 List`
 * is unpacked into its items), in the order given.
 * @returns how many objects of each resource (plural) were created.
 * @throws Error for an object whose apiVersion and kind the server does not
 *   serve; ApiError from the store (e.g. AlreadyExists).
 */
export function createManifests(
  server: ApiServer,
  manifests: readonly SourcedObject[],
): Map<string, number> {
  const created = new Map<string, number>();
  const create = (source: string, object: unknown): void => {
    const { apiVersion, kind, items } = (object ?? {}) as {
      apiVersion?: unknown;
      kind?: unknown;
      items?: unknown;
    };
    if (apiVersion === 'v1' && kind === 'List' && Array.isArray(items)) {
      for (const item of items) create(source, item);
      return;
    }
    const def = RESOURCES.find((r) => r.kind === kind && apiVersionOf(r) === apiVersion);
    if (def === undefined)
      throw new Error(
        `${source}: the API server does not serve ${String(apiVersion)} ${String(kind)}`,
      );
    server.store.create(def.plural, object);
    created.set(def.plural, (created.get(def.plural) ?? 0) + 1);
  };
  for (const m of manifests) create(m.source, m.object);
  return created;
}
