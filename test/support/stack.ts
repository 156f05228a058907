/**
 * The whole product on one machine, seen through the API: what Cluster the
 * objects on the server describe, which nodes do not yet enforce it, and a
 * wait until every node does. Shared by the end-to-end test, the
 * time-to-enforce benchmark and `make demo`, which each start an API server
 * (the real kube-apiserver or the embedded one), the controller and one
 * executor per node in their own way (in-process or as child processes) but
 * agree on what "enforced" means: every node's NodeFirewall carries the
 * script the server's objects give, and its executor reports that script
 * applied.
 *
 * Everything is read from an {@link ApiView} (list + watch through the API);
 * synchronisation is by its watch events, never by sleeping.
 */
import { PLURAL as NFW, type NodeFirewallStatus } from '../../src/k8s/nodefirewall.js';
import { decodeSpecScript } from '../../src/k8s/script-encoding.js';
import { renderScript } from '../../src/nft/render.js';
import { clusterFromObjects } from '../../src/policy/from-k8s.js';
import type { Cluster } from '../../src/policy/model.js';
import { translateNode } from '../../src/policy/translate.js';
import type { ApiView } from './test-api.js';

/** The resources a Cluster is built from. */
export const SOURCE_PLURALS = ['namespaces', 'nodes', 'pods', 'networkpolicies'] as const;

/** How long {@link waitForEnforced} waits by default. */
export const ENFORCE_TIMEOUT_MS = 20_000;

/**
 * The Cluster the objects on the server describe (what the oracle judges).
 * @throws Error listing the problems when an object does not convert.
 */
export function clusterInView(view: ApiView): Cluster {
  const objects = SOURCE_PLURALS.flatMap((plural) =>
    view.list(plural).map((object, i) => ({ source: `${plural}#${i}`, object })),
  );
  const { cluster, problems } = clusterFromObjects(objects);
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length > 0)
    throw new Error(
      `the objects on the server do not convert: ${errors.map((p) => `${p.object}: ${p.field}: ${p.message}`).join('; ')}`,
    );
  return cluster;
}

/** Nodes whose NodeFirewall does not yet carry, and report applied, the script of `cluster`. */
export function nodesBehind(view: ApiView, cluster: Cluster): string[] {
  return cluster.nodes
    .filter((n) => {
      const { script, scriptHash } = renderScript(translateNode(cluster, n.name));
      const nfw = view.get(NFW, n.name);
      const spec = nfw?.['spec'] as
        { script?: string; scriptGzip?: string; scriptHash?: string } | undefined;
      const status = nfw?.['status'] as NodeFirewallStatus | undefined;
      const applied = status?.conditions?.find((c) => c.type === 'Applied');
      return !(
        spec !== undefined &&
        scriptOf(spec) === script &&
        spec.scriptHash === scriptHash &&
        status?.appliedHash === scriptHash &&
        applied?.status === 'True'
      );
    })
    .map((n) => n.name);
}

/** The script a NodeFirewall spec carries, compressed or not; undefined when it is not readable. */
export function scriptOf(spec: { script?: string; scriptGzip?: string }): string | undefined {
  const decoded = decodeSpecScript(spec);
  return decoded.kind === 'decoded' ? decoded.script : undefined;
}

/**
 * Resolves with the server's Cluster once every node's executor reports the
 * script that Cluster gives as applied; checked now and after every watch
 * event the view sees.
 * @throws Error (rejects) after `timeoutMs`, naming `what` and the nodes behind.
 */
export async function waitForEnforced(
  view: ApiView,
  what: string,
  options: {
    /** @default ENFORCE_TIMEOUT_MS */
    readonly timeoutMs?: number;
    /**
     * What the view must show first: a wait right after a write must not be
     * satisfied by the state before it (e.g. the new policy is in the Cluster).
     */
    readonly until?: (cluster: Cluster) => boolean;
  } = {},
): Promise<Cluster> {
  const timeoutMs = options.timeoutMs ?? ENFORCE_TIMEOUT_MS;
  let cluster: Cluster | undefined;
  await view.waitFor(
    () => {
      cluster = clusterInView(view);
      if (options.until !== undefined && !options.until(cluster)) return false;
      return nodesBehind(view, cluster).length === 0;
    },
    what,
    {
      timeoutMs,
      detail: () => `nodes behind: ${nodesBehind(view, clusterInView(view)).join(', ')}`,
    },
  );
  return cluster!;
}
