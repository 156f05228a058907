/**
 * What the CLI will not read although it looks like a manifest. The policy
 * loader ignores, with a warning, every object whose kind it does not use
 * (a Deployment is no business of NetworkPolicy). But in CI a policy that was
 * skipped is worse than an error, so objects that were *meant* to be read are
 * errors here, naming their file and document:
 *
 * - a kind that differs from a read kind only in case or plural
 *   (`Networkpolicy`, `NetworkPolicies`, `pod`), or a near-miss of
 *   `NetworkPolicy` or `ClusterNetworkPolicy` (`NetworkPolicey`);
 * - AdminNetworkPolicy and BaselineAdminNetworkPolicy (network-policy-api
 *   v1alpha1), which ClusterNetworkPolicy replaced: a guardrail written for
 *   them would not be enforced;
 * - an object with no `kind` that has the shape of one (apiVersion, metadata
 *   or spec);
 * - a list of objects that is not a `List` (a top-level JSON or YAML array):
 *   kubectl rejects it too.
 *
 * Pure: plain values in, problems out.
 */
import { READ_KINDS, TYPED_LISTS } from '../policy/from-k8s.js';
import type { Problem, SourcedObject } from '../policy/from-k8s.js';
import { editDistance } from '../policy/k8s-read.js';

/** The list kinds whose items the loader reads. */
const LIST_KINDS: readonly string[] = ['List', ...TYPED_LISTS.keys()];
/** Kinds long enough that a near-miss is a typo, not another real kind. */
const TYPO_PRONE: readonly string[] = [
  'NetworkPolicy',
  'NetworkPolicyList',
  'ClusterNetworkPolicy',
  'ClusterNetworkPolicyList',
];
/** network-policy-api v1alpha1 kinds, and the tier of ClusterNetworkPolicy that replaced each. */
const REPLACED: ReadonlyMap<string, string> = new Map([
  ['AdminNetworkPolicy', 'Admin'],
  ['BaselineAdminNetworkPolicy', 'Baseline'],
]);

/**
 * An error problem for every object (or List item) in `objects` that looks
 * like a manifest meant for the loader but that the loader would not read,
 * with field `kind` (or none, for a list of objects).
 */
export function screenObjects(objects: readonly SourcedObject[]): Problem[] {
  const problems: Problem[] = [];
  for (const o of objects) screen(o.source, o.object, false, problems);
  return problems;
}

function screen(source: string, value: unknown, kindGiven: boolean, out: Problem[]): void {
  if (Array.isArray(value)) {
    if (value.some(looksLikeObject)) {
      out.push({
        severity: 'error',
        source,
        object: '',
        field: '',
        message: `a list of objects is not a Kubernetes manifest (kubectl rejects it too), so none of its ${value.length} items is read; put them in a v1 List: {"apiVersion": "v1", "kind": "List", "items": [...]}`,
      });
    }
    return;
  }
  if (!isRecord(value)) return;
  const kind = typeof value['kind'] === 'string' ? value['kind'] : '';
  if (kind === '') {
    if (!kindGiven && looksLikeObject(value)) {
      out.push({
        severity: 'error',
        source,
        object: describe('', value),
        field: 'kind',
        message:
          'no kind: a Kubernetes object names its kind (and apiVersion), so this one is not read',
      });
    }
    return;
  }
  if (LIST_KINDS.includes(kind)) {
    const items = value['items'];
    if (!Array.isArray(items)) return;
    const typed = kind !== 'List';
    items.forEach((item, i) => screen(`${source}/items[${i}]`, item, typed, out));
    return;
  }
  if (READ_KINDS.has(kind)) return;
  const tier = REPLACED.get(kind);
  if (tier !== undefined) {
    out.push({
      severity: 'error',
      source,
      object: describe(kind, value),
      field: 'kind',
      message: `kind "${kind}" (network-policy-api v1alpha1) is not read by nftpol, so this object is not enforced: write it as a ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2) with tier ${tier}`,
    });
    return;
  }
  const meant = meantKind(kind);
  if (meant === undefined) return;
  out.push({
    severity: 'error',
    source,
    object: describe(kind, value),
    field: 'kind',
    message: `kind "${kind}" is not a kind nftpol reads, so this object is not read: did you mean "${meant}"? (kinds are case-sensitive)`,
  });
}

/** The read kind `kind` was probably meant to be, if any. */
function meantKind(kind: string): string | undefined {
  const lower = kind.toLowerCase();
  const singular = lower.endsWith('ies')
    ? `${lower.slice(0, -3)}y`
    : lower.endsWith('s')
      ? lower.slice(0, -1)
      : lower;
  const all = [...READ_KINDS.keys(), ...LIST_KINDS];
  const exact = all.find((k) => k.toLowerCase() === lower || k.toLowerCase() === singular);
  if (exact !== undefined) return exact;
  return TYPO_PRONE.find((k) => editDistance(k.toLowerCase(), lower) <= 2);
}

/** Has the shape of a Kubernetes object: apiVersion, metadata or spec. */
function looksLikeObject(value: unknown): boolean {
  if (!isRecord(value)) return false;
  return ['kind', 'apiVersion', 'metadata', 'spec'].some((k) => Object.hasOwn(value, k));
}

/** `Kind namespace/name` as far as known, for the problem's object. */
function describe(kind: string, value: Readonly<Record<string, unknown>>): string {
  const meta = value['metadata'];
  const name = isRecord(meta) && typeof meta['name'] === 'string' ? meta['name'] : '';
  const ns = isRecord(meta) && typeof meta['namespace'] === 'string' ? meta['namespace'] : '';
  const qualified = ns !== '' && name !== '' ? `${ns}/${name}` : name;
  return [kind, qualified].filter((s) => s !== '').join(' ');
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
