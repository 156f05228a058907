/**
 * Kubernetes objects → the model: each object dispatched by kind to its
 * conversion (namespace-, pod-, node-, policy- and cluster-policy-from-k8s.ts), lists
 * flattened, apiVersions checked and duplicates refused; then the
 * cluster-wide rules (assemble-cluster.ts). The API server's defaulting is
 * applied and its validation (and more) repeated, because the CLI reads YAML
 * that no API server has seen, and a policy we misread is a hole in the
 * firewall.
 *
 * Why so strict: an unknown field in a NetworkPolicy (a typo such as
 * `podSelecter`) would be silently dropped by a lenient reader, and a dropped
 * selector is the empty selector — it matches everything and widens access.
 * So an unknown field, like every other error, skips the whole policy with an
 * error problem, and every other object still loads.
 *
 * Pure: takes plain JSON values (`unknown`, as parsed from YAML or as the API
 * returns them) and returns data plus problems; never throws on bad input.
 */
import { assembleCluster, type LoadResult, type ObjectSource } from './assemble-cluster.js';
import {
  CLUSTER_POLICY_API_VERSION,
  CLUSTER_POLICY_KIND,
  clusterPolicyFromK8s,
  equalPriorityWarnings,
} from './cluster-policy-from-k8s.js';
import {
  type Severity,
  type Problem,
  type Conversion,
  type Report,
  problemOf,
  fail,
  warn,
  isObject,
  own,
  stringOr,
  show,
} from './k8s-read.js';
import { describeObject } from './metadata-from-k8s.js';
import type { ClusterPolicy, Namespace, Node, Pod, Policy } from './model.js';
import { compareText } from './order.js';
import { namespaceFromK8s } from './namespace-from-k8s.js';
import { nodeFromK8s } from './node-from-k8s.js';
import { podFromK8s } from './pod-from-k8s.js';
import { policyFromK8s } from './policy-from-k8s.js';

export type { Conversion, Problem, Severity } from './k8s-read.js';
export type { LoadResult } from './assemble-cluster.js';

/** A parsed object and where it came from. */
export interface SourcedObject {
  /** Shown in problems, e.g. `examples/a.yaml#2`. */
  readonly source: string;
  readonly object: unknown;
}

/**
 * Kinds read by the loader, with the apiVersion each must carry. (A Map, not
 * an object literal: a kind such as `constructor` must not find Object's.)
 */
export const READ_KINDS: ReadonlyMap<string, string> = new Map([
  ['Namespace', 'v1'],
  ['Pod', 'v1'],
  ['Node', 'v1'],
  ['NetworkPolicy', 'networking.k8s.io/v1'],
  [CLUSTER_POLICY_KIND, CLUSTER_POLICY_API_VERSION],
]);

/**
 * Typed lists (as the API returns them), whose items carry no kind of their
 * own, with their items' kind. The untyped `List` is read too.
 */
export const TYPED_LISTS: ReadonlyMap<string, string> = new Map([
  ['NamespaceList', 'Namespace'],
  ['PodList', 'Pod'],
  ['NodeList', 'Node'],
  ['NetworkPolicyList', 'NetworkPolicy'],
  [`${CLUSTER_POLICY_KIND}List`, CLUSTER_POLICY_KIND],
]);

/**
 * Builds a Cluster from Kubernetes objects: v1 Namespace, Pod, Node,
 * networking.k8s.io/v1 NetworkPolicy, policy.networking.k8s.io/v1alpha2
 * ClusterNetworkPolicy, and v1 List (or a typed list such as PodList) of
 * those.
 *
 * - Other kinds, and documents that are no Kubernetes object, are ignored
 *   with a warning.
 * - An object with an error is skipped (error problems); all others load.
 * - A second object with the same kind, namespace and name is skipped with an
 *   error; the first wins.
 * - A namespace that a loaded pod or policy lives in but that is not defined
 *   is created with only its `kubernetes.io/metadata.name` label (warning).
 * - An IP that several enforceable pods claim is a warning on each pod it is
 *   not enforced for, naming the pod it is (see shared-ips.ts).
 * - A node that a loaded pod names but that is not defined is created with no
 *   pod CIDRs and no addresses (no problem: pod manifests rarely come with
 *   their Node objects).
 * - ClusterNetworkPolicies that load fill `clusterPolicies`, sorted by name
 *   (absent when there are none); two or more of one tier with one priority
 *   are a warning naming them (see `equalPriorityWarnings`), after the
 *   cluster-wide warnings.
 * - Deterministic: namespaces and nodes sorted by name, pods and policies by
 *   namespace then name (code-point order); problems in input order.
 */
export function clusterFromObjects(objects: readonly SourcedObject[]): LoadResult {
  const problems: Problem[] = [];
  const namespaces: Namespace[] = [];
  const pods: Pod[] = [];
  const policies: Policy[] = [];
  const nodes: Node[] = [];
  const clusterPolicies: ClusterPolicy[] = [];
  const clusterPolicySources = new Map<string, ObjectSource>();
  const firstSource = new Map<string, string>();
  const references: (ObjectSource & { namespace: string })[] = [];
  const podSources = new Map<Pod, ObjectSource>();

  for (const item of expandLists(objects)) {
    if ('severity' in item) {
      problems.push(item);
      continue;
    }
    const { source, object, kind } = item;
    const namespaced =
      kind === 'Pod' ||
      kind === 'NetworkPolicy' ||
      (kind !== CLUSTER_POLICY_KIND && hasNamespace(object));
    const label = describeObject(kind, object, namespaced);
    const report: Report = { source, object: label, problems };
    const wanted = READ_KINDS.get(kind);
    if (wanted === undefined) {
      warn(
        report,
        '',
        `kind ${kind} (${item.apiVersion || 'no apiVersion'}) is not used by NetworkPolicy; ignored`,
      );
      continue;
    }
    if (item.apiVersion !== wanted) {
      const given = item.apiVersion ? `"${item.apiVersion}"` : 'missing';
      fail(report, 'apiVersion', `a ${kind} must have apiVersion "${wanted}", but it is ${given}`);
      continue;
    }
    const identity = identityOf(kind, object, kind !== CLUSTER_POLICY_KIND);
    if (identity !== null) {
      const first = firstSource.get(identity);
      if (first !== undefined) {
        fail(report, 'metadata.name', `duplicate of the ${label} in ${first}; this one is ignored`);
        continue;
      }
      firstSource.set(identity, source);
    }
    switch (kind) {
      case 'Namespace':
        collect(namespaceFromK8s(object, source), problems, namespaces);
        break;
      case 'Node':
        collect(nodeFromK8s(object, source), problems, nodes);
        break;
      case 'Pod': {
        const p = collect(podFromK8s(object, source), problems, pods);
        if (p) {
          references.push({ namespace: p.namespace, source, object: label });
          podSources.set(p, { source, object: label });
        }
        break;
      }
      case 'NetworkPolicy': {
        const p = collect(policyFromK8s(object, source), problems, policies);
        if (p) references.push({ namespace: p.namespace, source, object: label });
        break;
      }
      case CLUSTER_POLICY_KIND: {
        const p = collect(clusterPolicyFromK8s(object, source), problems, clusterPolicies);
        if (p) clusterPolicySources.set(p.name, { source, object: label });
        break;
      }
    }
  }
  const result = assembleCluster(
    { namespaces, pods, policies, nodes, references, podSources },
    problems,
  );
  if (clusterPolicies.length === 0) return result;
  return {
    cluster: {
      ...result.cluster,
      clusterPolicies: clusterPolicies.sort((a, b) => compareText(a.name, b.name)),
    },
    problems: [...result.problems, ...equalPriorityWarnings(clusterPolicies, clusterPolicySources)],
  };
}

interface KindedObject {
  readonly source: string;
  readonly object: unknown;
  readonly kind: string;
  readonly apiVersion: string;
}

/**
 * Flattens `List` and typed lists into their items, in order; what is no
 * Kubernetes object comes out as a problem in its place.
 */
function* expandLists(
  objects: readonly SourcedObject[],
): Generator<KindedObject | Problem, void, undefined> {
  for (const o of objects) yield* expandOne(o.source, o.object, null);
}

function* expandOne(
  source: string,
  object: unknown,
  inherited: { readonly kind: string; readonly apiVersion: string } | null,
): Generator<KindedObject | Problem, void, undefined> {
  const obj = isObject(object) ? object : null;
  const ownKind = obj ? stringOr(own(obj, 'kind')) : '';
  const kind = ownKind || inherited?.kind || '';
  const ownVersion = obj ? stringOr(own(obj, 'apiVersion')) : '';
  const apiVersion = ownVersion || (ownKind === '' ? (inherited?.apiVersion ?? '') : '');
  const problem = (severity: Severity, field: string, message: string): Problem =>
    problemOf(severity, source, obj ? kind : '', field, message);
  if (obj === null || kind === '') {
    yield problem('warning', '', 'not a Kubernetes object (no kind); ignored');
    return;
  }
  const itemKind = kind === 'List' ? null : TYPED_LISTS.get(kind);
  if (itemKind === undefined) {
    yield { source, object: obj, kind, apiVersion };
    return;
  }
  const items = own(obj, 'items');
  if (items !== undefined && !Array.isArray(items)) {
    yield problem('error', 'items', `must be a list, not ${show(items)}`);
    return;
  }
  const next = itemKind === null ? null : { kind: itemKind, apiVersion };
  for (const [i, item] of (items ?? []).entries()) {
    yield* expandOne(`${source}/items[${i}]`, item, next);
  }
}

function hasNamespace(object: unknown): boolean {
  const meta = isObject(object) ? own(object, 'metadata') : undefined;
  return isObject(meta) && stringOr(own(meta, 'namespace')) !== '';
}

/**
 * `Kind/namespace/name` when the object has a usable name, else null; the
 * namespace left out when `withNamespace` is false (a cluster-scoped kind
 * ignores it).
 */
function identityOf(kind: string, object: unknown, withNamespace: boolean): string | null {
  const meta = isObject(object) ? own(object, 'metadata') : undefined;
  if (!isObject(meta)) return null;
  const name = stringOr(own(meta, 'name'));
  const namespace = withNamespace ? stringOr(own(meta, 'namespace')) : '';
  return name === '' ? null : `${kind}/${namespace}/${name}`;
}

function collect<T>(conversion: Conversion<T>, problems: Problem[], into: T[]): T | null {
  problems.push(...conversion.problems);
  if (conversion.value !== null) into.push(conversion.value);
  return conversion.value;
}
