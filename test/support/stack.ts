/**
 * The whole product on one machine, seen through the API: what Cluster the
 * objects on the server describe, which nodes do not yet enforce it, and a
 * wait until every node does. Shared by the end-to-end test, the
 * time-to-enforce benchmark and `make demo`, which each start an API server
 * (the real kube-apiserver or the embedded one), the controller and one
 * executor per node in their own way (in-process or as child processes) but
 * agree on what "enforced" means: every node's NodeFirewall carries the
 * rules the server's objects give, the AddressSets it names hold exactly the
 * members those objects give, and its executor reports the rules applied.
 * (Members that change later reach the kernel as deltas, which no status
 * shows; a test that needs them in the kernel awaits them there.)
 *
 * Everything is read from an {@link ApiView} (list + watch through the API);
 * synchronisation is by its watch events, never by sleeping.
 */
import { ADDRESS_SET_PLURAL, type AddressSetSpec } from '../../src/k8s/addressset.js';
import { PLURAL as NFW, type NodeFirewallStatus } from '../../src/k8s/nodefirewall.js';
import { decodeSpecScript } from '../../src/k8s/script-encoding.js';
import { composeScript } from '../../src/nft/compose.js';
import { nodeScripter } from '../../src/nft/node-script.js';
import { clusterFromObjects } from '../../src/policy/from-k8s.js';
import type { Cluster } from '../../src/policy/model.js';
import type { ApiView } from './test-api.js';

/** The resources a Cluster is built from. */
export const SOURCE_PLURALS = ['namespaces', 'nodes', 'pods', 'networkpolicies'] as const;

/**
 * ClusterNetworkPolicies, read as a source when the view watches them (their
 * CRD is optional, so a view that cannot watch them leaves them out).
 */
export const CLUSTER_POLICY_PLURAL = 'clusternetworkpolicies';

/** What a view must watch for {@link waitForEnforced}: the sources and the controller's output. */
export const ENFORCED_PLURALS = [...SOURCE_PLURALS, NFW, ADDRESS_SET_PLURAL] as const;

/** How long {@link waitForEnforced} waits by default. */
export const ENFORCE_TIMEOUT_MS = 20_000;

/**
 * The Cluster the objects on the server describe (what the oracle judges).
 * @throws Error listing the problems when an object does not convert.
 */
export function clusterInView(view: ApiView): Cluster {
  const objects = [...SOURCE_PLURALS, CLUSTER_POLICY_PLURAL].flatMap((plural) =>
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

/**
 * Nodes whose NodeFirewall does not yet carry, and report applied, the rules
 * of `cluster`, or whose AddressSets do not yet hold the members `cluster`
 * gives.
 */
export function nodesBehind(view: ApiView, cluster: Cluster): string[] {
  const scriptFor = nodeScripter(cluster);
  const members = membersInView(view);
  return cluster.nodes
    .filter((n) => {
      const want = scriptFor(n.name);
      const nfw = view.get(NFW, n.name);
      const spec = nfw?.['spec'] as
        { script?: string; scriptGzip?: string; scriptHash?: string } | undefined;
      const status = nfw?.['status'] as NodeFirewallStatus | undefined;
      const applied = status?.conditions?.find((c) => c.type === 'Applied');
      const setsDone = [...want.members].every(
        ([id, m]) => members.get(id)?.join('\n') === [...m].sort().join('\n'),
      );
      return !(
        spec !== undefined &&
        scriptOf(spec) === want.rules.script &&
        spec.scriptHash === want.rules.scriptHash &&
        status?.appliedHash === want.rules.scriptHash &&
        applied?.status === 'True' &&
        setsDone
      );
    })
    .map((n) => n.name);
}

/** The members of every set that has slices in the view, by set id, sorted as text. */
export function membersInView(view: ApiView): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const o of view.list(ADDRESS_SET_PLURAL)) {
    const spec = o['spec'] as AddressSetSpec;
    found.set(spec.setId, [...(found.get(spec.setId) ?? []), ...(spec.members ?? [])]);
  }
  for (const list of found.values()) list.sort();
  return found;
}

/**
 * Each node's complete script as its executor composes it from the API:
 * its NodeFirewall's rules plus the members of the AddressSets they name.
 */
export function composedInView(view: ApiView): Map<string, string> {
  const members = membersInView(view);
  const out = new Map<string, string>();
  for (const o of view.list(NFW)) {
    const rules = scriptOf(o['spec'] as { script?: string; scriptGzip?: string });
    if (rules !== undefined) out.set(o.metadata.name, composeScript(rules, members));
  }
  return out;
}

/** Each node's complete script as `nftpol render` gives it for `cluster`. */
export function renderedFor(cluster: Cluster): Map<string, string> {
  const scriptFor = nodeScripter(cluster);
  return new Map(cluster.nodes.map((n) => [n.name, scriptFor(n.name).script]));
}

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
