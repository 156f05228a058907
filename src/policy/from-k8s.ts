/**
 * Kubernetes objects → the model, with the API server's defaulting applied and
 * its validation (and more) repeated, because the CLI reads YAML that no API
 * server has seen, and a policy we misread is a hole in the firewall.
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
import type { Cluster, ContainerPort, Namespace, Node, Pod, Policy } from './model.js';
import { NAMESPACE_NAME_LABEL, qualifiedName } from './model.js';
import { canonicalIp } from './cidr.js';
import { claimReason, sharedPodIps } from './shared-ips.js';
import {
  type Severity,
  type Problem,
  type Conversion,
  type JsonObject,
  type Report,
  PHASES,
  DNS_LABEL,
  DNS_SUBDOMAIN,
  readMetadata,
  describeObject,
  problemOf,
  startReport,
  finish,
  skipped,
  fail,
  warn,
  hasErrors,
  isObject,
  own,
  stringOr,
  readObject,
  readItems,
  readString,
  readBoolean,
  show,
  errorMessage,
} from './k8s-read.js';
import { compareText } from './order.js';
import {
  policyFromK8s,
  readProtocol,
  checkPortNumber,
  checkPortName,
  checkCidr,
} from './policy-from-k8s.js';

export type { Conversion, Problem, Severity } from './k8s-read.js';
export { policyFromK8s } from './policy-from-k8s.js';

/** A parsed object and where it came from. */
export interface SourcedObject {
  /** Shown in problems, e.g. `examples/a.yaml#2`. */
  readonly source: string;
  readonly object: unknown;
}

/** A cluster and everything noticed while building it. */
export interface LoadResult {
  readonly cluster: Cluster;
  /** In input order; then shared-IP warnings, then implicit-namespace warnings. */
  readonly problems: readonly Problem[];
}

// ---------------------------------------------------------------- the cluster

/** Kinds read by the loader, with the apiVersion each must carry. */
const KINDS: Readonly<Record<string, string>> = {
  Namespace: 'v1',
  Pod: 'v1',
  Node: 'v1',
  NetworkPolicy: 'networking.k8s.io/v1',
};

/** Typed lists (as the API returns them), whose items carry no kind of their own. */
const TYPED_LISTS: Readonly<Record<string, string>> = {
  NamespaceList: 'Namespace',
  PodList: 'Pod',
  NodeList: 'Node',
  NetworkPolicyList: 'NetworkPolicy',
};

/**
 * Builds a Cluster from Kubernetes objects: v1 Namespace, Pod, Node,
 * networking.k8s.io/v1 NetworkPolicy, and v1 List (or a typed list such as
 * PodList) of those.
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
 * - Deterministic: namespaces and nodes sorted by name, pods and policies by
 *   namespace then name (code-point order); problems in input order.
 */
export function clusterFromObjects(objects: readonly SourcedObject[]): LoadResult {
  const problems: Problem[] = [];
  const namespaces: Namespace[] = [];
  const pods: Pod[] = [];
  const policies: Policy[] = [];
  const nodes: Node[] = [];
  const firstSource = new Map<string, string>();
  const references: { namespace: string; source: string; object: string }[] = [];
  const podSources = new Map<Pod, { source: string; object: string }>();

  for (const item of expandLists(objects)) {
    if ('severity' in item) {
      problems.push(item);
      continue;
    }
    const { source, object, kind } = item;
    const namespaced = kind === 'Pod' || kind === 'NetworkPolicy' || hasNamespace(object);
    const label = describeObject(kind, object, namespaced);
    const report: Report = { source, object: label, problems };
    const wanted = KINDS[kind];
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
    const identity = identityOf(kind, object);
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
    }
  }

  const defined = new Set(namespaces.map((n) => n.name));
  for (const ref of references) {
    if (defined.has(ref.namespace)) continue;
    defined.add(ref.namespace);
    namespaces.push({ name: ref.namespace, labels: { [NAMESPACE_NAME_LABEL]: ref.namespace } });
    problems.push(
      problemOf(
        'warning',
        ref.source,
        ref.object,
        'metadata.namespace',
        `namespace "${ref.namespace}" is not defined; assumed to exist with only the label ${NAMESPACE_NAME_LABEL}=${ref.namespace}`,
      ),
    );
  }
  for (const shared of sharedPodIps(pods)) {
    const [winner, ...losers] = shared.pods;
    if (winner === undefined) continue;
    for (const loser of losers) {
      const where = podSources.get(loser);
      problems.push(
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
  const nodeNames = new Set(nodes.map((n) => n.name));
  for (const p of pods) {
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
      pods: pods.sort(byQualified),
      policies: policies.sort(byQualified),
      nodes: nodes.sort(byName),
    },
    problems,
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
  const itemKind = kind === 'List' ? null : TYPED_LISTS[kind];
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

/** `Kind/namespace/name` when the object has a usable name, else null. */
function identityOf(kind: string, object: unknown): string | null {
  const meta = isObject(object) ? own(object, 'metadata') : undefined;
  if (!isObject(meta)) return null;
  const name = stringOr(own(meta, 'name'));
  return name === '' ? null : `${kind}/${stringOr(own(meta, 'namespace'))}/${name}`;
}

function collect<T>(conversion: Conversion<T>, problems: Problem[], into: T[]): T | null {
  problems.push(...conversion.problems);
  if (conversion.value !== null) into.push(conversion.value);
  return conversion.value;
}

// ------------------------------------------------------------ Pod

/**
 * Converts a v1 Pod (plain JSON; `kind` and `apiVersion` are not checked).
 *
 * - `ips`: every `status.podIPs[].ip`, else `status.podIP`; canonical text,
 *   order kept. As the API server checks them: at most one per family, none
 *   twice.
 * - `phase`: `status.phase`; when absent, `Running` if the pod has IPs (a
 *   hand-written manifest that gives IPs means a running pod), else `Pending`.
 * - `nodeName`: `spec.nodeName` (a DNS subdomain), empty when unscheduled;
 *   `hostNetwork`: `spec.hostNetwork`, default false.
 * - `ports`: the ports with a name of `spec.containers` then
 *   `spec.initContainers` (sidecars are init containers); protocol default TCP.
 *
 * Only the fields above are checked; any error in them makes `value` null.
 */
export function podFromK8s(object: unknown, source = ''): Conversion<Pod> {
  const r = startReport(source, describeObject('Pod', object, true));
  if (!isObject(object)) {
    fail(r, '', 'must be an object');
    return skipped(r);
  }
  const meta = readMetadata(r, object, true, DNS_SUBDOMAIN);
  const spec = readObject(r, object, 'spec', 'spec') ?? {};
  const status = readObject(r, object, 'status', 'status') ?? {};
  const nodeName = readNodeName(r, spec);
  const hostNetwork = readBoolean(r, spec, 'hostNetwork', 'spec.hostNetwork') ?? false;
  const ips = readPodIps(r, status);
  const phaseRaw = own(status, 'phase');
  const phase =
    phaseRaw === undefined
      ? ips.length > 0
        ? 'Running'
        : 'Pending'
      : PHASES.find((p) => p === phaseRaw);
  if (phase === undefined) {
    fail(
      r,
      'status.phase',
      `unknown phase ${show(phaseRaw)}; expected one of ${PHASES.join(', ')}`,
    );
  }
  const ports = [
    ...readContainerPorts(r, spec, 'containers'),
    ...readContainerPorts(r, spec, 'initContainers'),
  ];
  const metadata = isObject(own(object, 'metadata')) ? (own(object, 'metadata') as JsonObject) : {};
  const created = readTime(r, metadata, 'creationTimestamp');
  const terminating = readTime(r, metadata, 'deletionTimestamp') !== undefined;
  if (!meta || phase === undefined || hasErrors(r)) return skipped(r);
  return finish(r, {
    namespace: meta.namespace,
    name: meta.name,
    nodeName,
    labels: meta.labels,
    ips,
    hostNetwork,
    phase,
    ports,
    ...(terminating ? { terminating } : {}),
    ...(created === undefined ? {} : { created }),
  });
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A metav1.Time field in milliseconds since the epoch, undefined when absent.
 * RFC 3339 text, as the API server decodes it (a YAML timestamp that a
 * parser turned into a Date is taken as it is).
 */
function readTime(r: Report, metadata: JsonObject, key: string): number | undefined {
  const raw = own(metadata, key);
  if (raw === undefined) return undefined;
  const ms =
    raw instanceof Date
      ? raw.getTime()
      : typeof raw === 'string' && RFC3339.test(raw)
        ? Date.parse(raw)
        : NaN;
  if (Number.isNaN(ms)) {
    fail(
      r,
      `metadata.${key}`,
      `must be an RFC 3339 time such as "2024-05-01T10:00:00Z", not ${show(raw)}`,
    );
    return undefined;
  }
  return ms;
}

/**
 * `spec.nodeName`, empty when unscheduled. As the API server checks it: a DNS
 * subdomain. It names a script, a file and a `# node:` line, so nothing else
 * may pass.
 */
function readNodeName(r: Report, spec: JsonObject): string {
  const name = readString(r, spec, 'nodeName', 'spec.nodeName') ?? '';
  if (name !== '' && (name.length > 253 || !DNS_SUBDOMAIN.test(name))) {
    fail(
      r,
      'spec.nodeName',
      `invalid node name "${name}": at most 253 lower-case letters, digits and '-' or '.', starting and ending with a letter or digit`,
    );
  }
  return name;
}

function readPodIps(r: Report, status: JsonObject): string[] {
  const ips: string[] = [];
  const add = (raw: unknown, path: string): void => {
    if (typeof raw !== 'string') {
      fail(r, path, `must be an IP address string, not ${show(raw)}`);
      return;
    }
    try {
      ips.push(canonicalIp(raw));
    } catch (e) {
      fail(r, path, errorMessage(e));
    }
  };
  const list = readItems(r, status, 'podIPs', 'status.podIPs', {});
  if (list !== undefined && list.length > 0) {
    list.forEach((entry, i) => {
      if (isObject(entry)) add(own(entry, 'ip'), `status.podIPs[${i}].ip`);
      else fail(r, `status.podIPs[${i}]`, 'must be an object with ip');
    });
    checkPodIpFamilies(r, ips);
  } else {
    const single = own(status, 'podIP');
    if (single !== undefined && single !== '') add(single, 'status.podIP');
  }
  return ips;
}

/** As the API server checks `status.podIPs`: no address twice, at most one per family. */
function checkPodIpFamilies(r: Report, ips: readonly string[]): void {
  const v4 = ips.filter((ip) => !ip.includes(':'));
  const v6 = ips.filter((ip) => ip.includes(':'));
  const twice = [v4, v6].find((family) => family.length > 1);
  if (twice) {
    const family = twice === v4 ? 'IPv4' : 'IPv6';
    fail(
      r,
      'status.podIPs',
      `may specify no more than one IP for each IP family; ${twice.join(' and ')} are both ${family}`,
    );
  }
  ips.forEach((ip, i) => {
    if (ips.indexOf(ip) < i) fail(r, `status.podIPs[${i}]`, `Duplicate value: "${ip}"`);
  });
}

function readContainerPorts(r: Report, spec: JsonObject, key: string): ContainerPort[] {
  const out: ContainerPort[] = [];
  (readItems(r, spec, key, `spec.${key}`, {}) ?? []).forEach((c, i) => {
    const cPath = `spec.${key}[${i}]`;
    if (!isObject(c)) {
      fail(r, cPath, 'must be an object');
      return;
    }
    (readItems(r, c, 'ports', `${cPath}.ports`, {}) ?? []).forEach((p, j) => {
      const pPath = `${cPath}.ports[${j}]`;
      if (!isObject(p)) {
        fail(r, pPath, 'must be an object');
        return;
      }
      const name = readString(r, p, 'name', `${pPath}.name`);
      if (name === undefined || name === '') return;
      const number = own(p, 'containerPort');
      const protocol = readProtocol(r, p, `${pPath}.protocol`);
      let ok = checkPortName(r, name, `${pPath}.name`);
      if (typeof number !== 'number') {
        ok =
          fail(
            r,
            `${pPath}.containerPort`,
            number === undefined ? 'is required' : `must be a number, not ${show(number)}`,
          ) ?? false;
      } else {
        ok = checkPortNumber(r, number, `${pPath}.containerPort`, 'containerPort') && ok;
      }
      if (ok && protocol !== undefined && typeof number === 'number') {
        out.push({ name, containerPort: number, protocol });
      }
    });
  });
  return out;
}

// ------------------------------------------------------------ Namespace, Node

/**
 * Converts a v1 Namespace (plain JSON; `kind` and `apiVersion` not checked).
 * The label `kubernetes.io/metadata.name=<name>` is always set, as the API
 * server does (a different value given is replaced, with a warning).
 */
export function namespaceFromK8s(object: unknown, source = ''): Conversion<Namespace> {
  const r = startReport(source, describeObject('Namespace', object, false));
  if (!isObject(object)) {
    fail(r, '', 'must be an object');
    return skipped(r);
  }
  const meta = readMetadata(r, object, false, DNS_LABEL);
  if (!meta || hasErrors(r)) return skipped(r);
  const given = meta.labels[NAMESPACE_NAME_LABEL];
  if (given !== undefined && given !== meta.name) {
    warn(
      r,
      `metadata.labels.${NAMESPACE_NAME_LABEL}`,
      `is always the namespace name; "${given}" replaced by "${meta.name}"`,
    );
  }
  return finish(r, {
    name: meta.name,
    labels: { ...meta.labels, [NAMESPACE_NAME_LABEL]: meta.name },
  });
}

/**
 * Converts a v1 Node (plain JSON; `kind` and `apiVersion` not checked).
 * - `podCIDRs`: `spec.podCIDRs`, else `spec.podCIDR`, as written.
 * - `addresses`: `status.addresses` of type InternalIP only, canonical text
 *   (ExternalIP is not where pod traffic to and from the node comes from).
 */
export function nodeFromK8s(object: unknown, source = ''): Conversion<Node> {
  const r = startReport(source, describeObject('Node', object, false));
  if (!isObject(object)) {
    fail(r, '', 'must be an object');
    return skipped(r);
  }
  const meta = readMetadata(r, object, false, DNS_SUBDOMAIN);
  const spec = readObject(r, object, 'spec', 'spec') ?? {};
  const status = readObject(r, object, 'status', 'status') ?? {};
  const podCIDRs: string[] = [];
  const list = readItems(r, spec, 'podCIDRs', 'spec.podCIDRs', '');
  const cidrs =
    list !== undefined && list.length > 0
      ? list.map((c, i) => [c, `spec.podCIDRs[${i}]`] as const)
      : own(spec, 'podCIDR') !== undefined
        ? [[own(spec, 'podCIDR'), 'spec.podCIDR'] as const]
        : [];
  for (const [c, path] of cidrs) {
    if (typeof c !== 'string') {
      fail(r, path, `must be a CIDR string, not ${show(c)}`);
      continue;
    }
    const checked = checkCidr(r, c, path);
    if (checked && !podCIDRs.includes(checked.text)) podCIDRs.push(checked.text);
  }
  const addresses: string[] = [];
  (readItems(r, status, 'addresses', 'status.addresses', {}) ?? []).forEach((a, i) => {
    if (!isObject(a) || own(a, 'type') !== 'InternalIP') return;
    const address = own(a, 'address');
    try {
      if (typeof address !== 'string')
        throw new Error(`must be an IP address string, not ${show(address)}`);
      const ip = canonicalIp(address);
      if (!addresses.includes(ip)) addresses.push(ip);
    } catch (e) {
      fail(r, `status.addresses[${i}].address`, errorMessage(e));
    }
  });
  if (!meta || hasErrors(r)) return skipped(r);
  return finish(r, { name: meta.name, podCIDRs, addresses });
}
