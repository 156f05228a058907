/**
 * The cluster-wide rules of loading, applied once every object is converted:
 * a namespace that a pod or policy lives in but that was not given is
 * assumed (with a warning), an IP several pods claim is a warning on each pod
 * it is not enforced for (shared-ips.ts decides which), a node that a pod
 * names is assumed, and everything is sorted so the Cluster is the same
 * whatever order the objects came in.
 *
 * Pure: no I/O.
 */
import type { Problem } from './k8s-read.js';
import { problemOf } from './k8s-read.js';
import { NAMESPACE_NAME_LABEL, qualifiedName } from './model.js';
import type { Cluster, Namespace, Node, Pod, Policy } from './model.js';
import { compareText } from './order.js';
import { claimReason, sharedPodIps } from './shared-ips.js';

/** A cluster and everything noticed while building it. */
export interface LoadResult {
  readonly cluster: Cluster;
  /** In input order; then implicit-namespace warnings, then shared-IP warnings. */
  readonly problems: readonly Problem[];
}

/** Where a loaded object came from, as problems name it. */
export interface ObjectSource {
  /** e.g. `examples/a.yaml#2`. */
  readonly source: string;
  /** e.g. `Pod a/web`. */
  readonly object: string;
}

/** The objects that loaded, in input order, and where they came from. */
export interface LoadedObjects {
  readonly namespaces: readonly Namespace[];
  readonly pods: readonly Pod[];
  readonly policies: readonly Policy[];
  readonly nodes: readonly Node[];
  /** The namespace of every loaded pod and policy, in input order. */
  readonly references: readonly (ObjectSource & { readonly namespace: string })[];
  /** Where each loaded pod came from. */
  readonly podSources: ReadonlyMap<Pod, ObjectSource>;
}

/**
 * The Cluster of `loaded`, and `problems` followed by the warnings the
 * cluster-wide rules raise (see the file header). Namespaces and nodes are
 * sorted by name, pods and policies by namespace then name (code-point order).
 */
export function assembleCluster(loaded: LoadedObjects, problems: readonly Problem[]): LoadResult {
  const namespaces = [...loaded.namespaces];
  const nodes = [...loaded.nodes];
  const warnings: Problem[] = [];
  const defined = new Set(namespaces.map((n) => n.name));
  for (const ref of loaded.references) {
    if (defined.has(ref.namespace)) continue;
    defined.add(ref.namespace);
    namespaces.push({ name: ref.namespace, labels: { [NAMESPACE_NAME_LABEL]: ref.namespace } });
    warnings.push(
      problemOf(
        'warning',
        ref.source,
        ref.object,
        'metadata.namespace',
        `namespace "${ref.namespace}" is not defined; assumed to exist with only the label ${NAMESPACE_NAME_LABEL}=${ref.namespace}`,
      ),
    );
  }
  warnings.push(...sharedIpWarnings(loaded.pods, loaded.podSources));
  const nodeNames = new Set(nodes.map((n) => n.name));
  for (const p of loaded.pods) {
    if (p.nodeName === '' || nodeNames.has(p.nodeName)) continue;
    nodeNames.add(p.nodeName);
    nodes.push({ name: p.nodeName, podCIDRs: [], addresses: [] });
  }

  const byName = (a: { name: string }, b: { name: string }): number => compareText(a.name, b.name);
  const byQualified = (
    a: { namespace: string; name: string },
    b: { namespace: string; name: string },
  ): number => compareText(a.namespace, b.namespace) || compareText(a.name, b.name);
  return {
    cluster: {
      namespaces: namespaces.sort(byName),
      pods: [...loaded.pods].sort(byQualified),
      policies: [...loaded.policies].sort(byQualified),
      nodes: nodes.sort(byName),
    },
    problems: [...problems, ...warnings],
  };
}

/** A warning on each pod that claims an IP enforced for another pod, naming that pod. */
function sharedIpWarnings(
  pods: readonly Pod[],
  podSources: ReadonlyMap<Pod, ObjectSource>,
): Problem[] {
  const warnings: Problem[] = [];
  for (const shared of sharedPodIps(pods)) {
    const [winner, ...losers] = shared.pods;
    if (winner === undefined) continue;
    for (const loser of losers) {
      const where = podSources.get(loser);
      warnings.push(
        problemOf(
          'warning',
          where?.source ?? '',
          where?.object ?? `Pod ${qualifiedName(loser)}`,
          'status.podIPs',
          `${shared.ip} is also the IP of Pod ${qualifiedName(winner)}; only one pod's policies can be enforced for an IP, and they are ${qualifiedName(winner)}'s (${claimReason(winner, loser)})`,
        ),
      );
    }
  }
  return warnings;
}
