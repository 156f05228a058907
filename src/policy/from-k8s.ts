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
import { canonicalIp, formatIp, hasHostBits, isIp, parseCidr, rangeCovers } from './cidr.js';
import type { Range } from './cidr.js';
import type {
  Cluster,
  ContainerPort,
  Direction,
  Labels,
  LabelSelector,
  Namespace,
  Node,
  Peer,
  Pod,
  PodPhase,
  Policy,
  PortSpec,
  Protocol,
  Rule,
  SelectorOperator,
  SelectorRequirement,
} from './model.js';
import { EVERYTHING } from './selector.js';

/** How bad a problem is: an `error` skips the object, a `warning` does not. */
export type Severity = 'error' | 'warning';

/** One thing wrong (or worth knowing) about the input, located precisely. */
export interface Problem {
  readonly severity: Severity;
  /** Where the object came from: `file#document` (1-based), `…/items[i]` inside a List. */
  readonly source: string;
  /** The object, e.g. `NetworkPolicy a/deny`, `Node n1`; empty when not an object. */
  readonly object: string;
  /** Field path inside the object, e.g. `spec.ingress[0].ports[1].endPort`; empty for the whole object. */
  readonly field: string;
  /** One sentence saying what is wrong and, where possible, how to fix it. */
  readonly message: string;
}

/** A parsed object and where it came from. */
export interface SourcedObject {
  /** Shown in problems, e.g. `examples/a.yaml#2`. */
  readonly source: string;
  readonly object: unknown;
}

/** A cluster and everything noticed while building it. */
export interface LoadResult {
  readonly cluster: Cluster;
  /** In input order; implicit-namespace warnings last. */
  readonly problems: readonly Problem[];
}

/** One object's conversion: `value` is null exactly when `problems` holds an error. */
export interface Conversion<T> {
  readonly value: T | null;
  readonly problems: readonly Problem[];
}

type JsonObject = Readonly<Record<string, unknown>>;

/** The problems of one object and what to call it. */
interface Report {
  readonly source: string;
  readonly object: string;
  readonly problems: Problem[];
}

const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];
const OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];
const PHASES: readonly PodPhase[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

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
        if (p) references.push({ namespace: p.namespace, source, object: label });
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
    problems.push({
      severity: 'warning',
      source: ref.source,
      object: ref.object,
      field: 'metadata.namespace',
      message: `namespace "${ref.namespace}" is not defined; assumed to exist with only the label ${NAMESPACE_NAME_LABEL}=${ref.namespace}`,
    });
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
  const problem = (severity: Severity, field: string, message: string): Problem => ({
    severity,
    source,
    object: obj ? kind : '',
    field,
    message,
  });
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

// ------------------------------------------------------------ NetworkPolicy

const POLICY_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const SPEC_FIELDS = ['podSelector', 'policyTypes', 'ingress', 'egress'];
const PEER_FIELDS = ['podSelector', 'namespaceSelector', 'ipBlock'];
const PORT_FIELDS = ['protocol', 'port', 'endPort'];
const SELECTOR_FIELDS = ['matchLabels', 'matchExpressions'];

/**
 * Converts a networking.k8s.io/v1 NetworkPolicy (plain JSON; `kind` and
 * `apiVersion` are not checked, so list items from the API work).
 *
 * Defaults, as the API server applies them:
 * - `policyTypes` absent or empty: `['ingress']`, plus `'egress'` when
 *   `spec.egress` is non-empty;
 * - port `protocol`: TCP;
 * - rule `from`/`to`/`ports` absent or empty: null (all peers, all ports);
 * - peer with `podSelector` only: `namespaceSelector` null (own namespace);
 *   with `namespaceSelector` only: `podSelector` EVERYTHING;
 * - `spec.podSelector` absent: EVERYTHING.
 *
 * Any error (unknown field, bad port, CIDR, selector, missing name or
 * namespace…) makes `value` null; warnings (CIDR host bits) do not.
 * @param source shown in problems, e.g. `policies.yaml#3`
 */
export function policyFromK8s(object: unknown, source = ''): Conversion<Policy> {
  const r = startReport(source, describeObject('NetworkPolicy', object, true));
  if (!isObject(object)) {
    fail(r, '', 'must be an object');
    return skipped(r);
  }
  rejectUnknownFields(r, object, '', POLICY_FIELDS);
  const meta = readMetadata(r, object, true, DNS_SUBDOMAIN);
  const spec = readObject(r, object, 'spec', 'spec') ?? {};
  rejectUnknownFields(r, spec, 'spec', SPEC_FIELDS);
  const podSelectorRaw = own(spec, 'podSelector');
  const podSelector =
    podSelectorRaw === undefined ? EVERYTHING : readSelector(r, podSelectorRaw, 'spec.podSelector');
  const ingress = readRules(r, spec, 'ingress');
  const egress = readRules(r, spec, 'egress');
  const policyTypes = readPolicyTypes(r, spec);
  if (!meta || !podSelector || hasErrors(r)) return skipped(r);
  return finish(r, {
    namespace: meta.namespace,
    name: meta.name,
    podSelector,
    policyTypes,
    ingress,
    egress,
  });
}

function readPolicyTypes(r: Report, spec: JsonObject): readonly Direction[] {
  const given = readList(r, spec, 'policyTypes', 'spec.policyTypes') ?? [];
  if (given.length === 0) {
    const egress = own(spec, 'egress');
    return Array.isArray(egress) && egress.length > 0 ? ['ingress', 'egress'] : ['ingress'];
  }
  const found = new Set<Direction>();
  given.forEach((t, i) => {
    if (t === 'Ingress') found.add('ingress');
    else if (t === 'Egress') found.add('egress');
    else fail(r, `spec.policyTypes[${i}]`, `unknown policy type ${show(t)}; use Ingress or Egress`);
  });
  return (['ingress', 'egress'] as const).filter((d) => found.has(d));
}

function readRules(r: Report, spec: JsonObject, direction: Direction): Rule[] {
  const path = `spec.${direction}`;
  const peersKey = direction === 'ingress' ? 'from' : 'to';
  const otherKey = direction === 'ingress' ? 'to' : 'from';
  const rules: Rule[] = [];
  (readList(r, spec, direction, path) ?? []).forEach((raw, i) => {
    const rulePath = `${path}[${i}]`;
    if (!isObject(raw)) {
      fail(r, rulePath, `must be an object with "${peersKey}" and/or "ports"`);
      return;
    }
    rejectUnknownFields(r, raw, rulePath, [peersKey, 'ports'], {
      [otherKey]: `${direction} rules name their peers in "${peersKey}"`,
    });
    const peers = (readList(r, raw, peersKey, `${rulePath}.${peersKey}`) ?? []).map((p, j) =>
      readPeer(r, p, `${rulePath}.${peersKey}[${j}]`),
    );
    const ports = (readList(r, raw, 'ports', `${rulePath}.ports`) ?? []).map((p, j) =>
      readPortSpec(r, p, `${rulePath}.ports[${j}]`),
    );
    rules.push({
      peers: peers.length === 0 ? null : peers.filter((p): p is Peer => p !== undefined),
      ports: ports.length === 0 ? null : ports.filter((p): p is PortSpec => p !== undefined),
    });
  });
  return rules;
}

function readPeer(r: Report, raw: unknown, path: string): Peer | undefined {
  if (!isObject(raw)) {
    fail(r, path, 'must be an object with podSelector, namespaceSelector or ipBlock');
    return undefined;
  }
  rejectUnknownFields(r, raw, path, PEER_FIELDS);
  const podRaw = own(raw, 'podSelector');
  const nsRaw = own(raw, 'namespaceSelector');
  const blockRaw = own(raw, 'ipBlock');
  if (blockRaw !== undefined) {
    if (podRaw !== undefined || nsRaw !== undefined) {
      fail(
        r,
        path,
        'ipBlock cannot be combined with podSelector or namespaceSelector in one peer; use separate peers',
      );
      return undefined;
    }
    return readIpBlock(r, blockRaw, `${path}.ipBlock`);
  }
  if (podRaw === undefined && nsRaw === undefined) {
    fail(r, path, 'a peer must set podSelector, namespaceSelector or ipBlock');
    return undefined;
  }
  const podSelector =
    podRaw === undefined ? EVERYTHING : readSelector(r, podRaw, `${path}.podSelector`);
  const namespaceSelector =
    nsRaw === undefined ? null : readSelector(r, nsRaw, `${path}.namespaceSelector`);
  if (!podSelector || namespaceSelector === undefined) return undefined;
  return { kind: 'pods', namespaceSelector, podSelector };
}

function readIpBlock(r: Report, raw: unknown, path: string): Peer | undefined {
  if (!isObject(raw)) {
    fail(r, path, 'must be an object with cidr and optional except');
    return undefined;
  }
  rejectUnknownFields(r, raw, path, ['cidr', 'except']);
  const cidr = readString(r, raw, 'cidr', `${path}.cidr`);
  if (cidr === undefined) {
    if (own(raw, 'cidr') === undefined) fail(r, `${path}.cidr`, 'is required');
    return undefined;
  }
  const outer = checkCidr(r, cidr, `${path}.cidr`);
  const except: string[] = [];
  (readList(r, raw, 'except', `${path}.except`) ?? []).forEach((e, i) => {
    const ePath = `${path}.except[${i}]`;
    if (typeof e !== 'string') {
      fail(r, ePath, `must be a CIDR string, not ${show(e)}`);
      return;
    }
    except.push(e);
    const inner = checkCidr(r, e, ePath);
    if (!outer || !inner) return;
    if (inner.family !== outer.family) {
      fail(
        r,
        ePath,
        `except "${e}" is ${familyName(inner.family)} but cidr "${cidr}" is ${familyName(outer.family)}`,
      );
    } else if (
      !rangeCovers(outer, inner) ||
      (inner.first === outer.first && inner.last === outer.last)
    ) {
      fail(r, ePath, `except "${e}" must lie strictly inside cidr "${cidr}"`);
    }
  });
  return { kind: 'ipBlock', cidr, except };
}

function readPortSpec(r: Report, raw: unknown, path: string): PortSpec | undefined {
  if (!isObject(raw)) {
    fail(r, path, 'must be an object with protocol, port and/or endPort');
    return undefined;
  }
  rejectUnknownFields(r, raw, path, PORT_FIELDS);
  const protocol = readProtocol(r, raw, `${path}.protocol`);
  const portRaw = own(raw, 'port');
  const endPort = own(raw, 'endPort');
  const port = typeof portRaw === 'number' || typeof portRaw === 'string' ? portRaw : undefined;
  let ok = protocol !== undefined;
  if (typeof port === 'number') {
    ok = checkPortNumber(r, port, `${path}.port`, 'port') && ok;
  } else if (typeof port === 'string') {
    ok = checkPortName(r, port, `${path}.port`) && ok;
  } else if (portRaw !== undefined) {
    ok = fail(r, `${path}.port`, `must be a number or a port name, not ${show(portRaw)}`) ?? false;
  }
  if (endPort !== undefined) {
    if (typeof endPort !== 'number') {
      ok = fail(r, `${path}.endPort`, `must be a number, not ${show(endPort)}`) ?? false;
    } else if (typeof port !== 'number') {
      ok = fail(r, `${path}.endPort`, 'endPort requires a numeric port') ?? false;
    } else if (checkPortNumber(r, endPort, `${path}.endPort`, 'endPort') && endPort < port) {
      ok = fail(r, `${path}.endPort`, `endPort ${endPort} is less than port ${port}`) ?? false;
    }
  }
  if (!ok || protocol === undefined) return undefined;
  return {
    protocol,
    ...(port === undefined ? {} : { port }),
    ...(typeof endPort === 'number' ? { endPort } : {}),
  };
}

function readProtocol(r: Report, obj: JsonObject, path: string): Protocol | undefined {
  const raw = own(obj, 'protocol');
  if (raw === undefined) return 'TCP';
  const found = PROTOCOLS.find((p) => p === raw);
  if (found) return found;
  const hint = typeof raw === 'string' && PROTOCOLS.find((p) => p === raw.toUpperCase());
  fail(
    r,
    path,
    `unknown protocol ${show(raw)}; use ${hint ? `"${hint}" (upper case)` : 'TCP, UDP or SCTP'}`,
  );
  return undefined;
}

function checkPortNumber(r: Report, n: number, path: string, what: string): boolean {
  if (Number.isInteger(n) && n >= 1 && n <= 65535) return true;
  fail(r, path, `${what} ${n} is out of range 1–65535`);
  return false;
}

/** IANA_SVC_NAME, as the API server checks named ports. */
function checkPortName(r: Report, name: string, path: string): boolean {
  if (/^[0-9]+$/.test(name)) {
    fail(r, path, `port "${name}" is a string; write a numeric port as a number (port: ${name})`);
    return false;
  }
  if (name.length > 15 || !PORT_NAME.test(name) || name.includes('--') || !/[a-z]/.test(name)) {
    fail(
      r,
      path,
      `invalid port name "${name}": at most 15 lower-case letters, digits and '-', with a letter, not starting or ending with '-'`,
    );
    return false;
  }
  return true;
}

/** Parses a CIDR as the API server does (a prefix length is required); warns about host bits. */
function checkCidr(r: Report, text: string, path: string): Range | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) {
    const example = `${text}/${text.includes(':') ? 128 : 32}`;
    fail(r, path, `"${text}" is not a CIDR: add a prefix length, e.g. "${example}"`);
    return undefined;
  }
  const address = text.slice(0, slash);
  if (!isIp(address)) {
    fail(r, path, `invalid CIDR "${text}": "${address}" is not an IP address`);
    return undefined;
  }
  let range: Range;
  try {
    range = parseCidr(text);
  } catch {
    const max = address.includes(':') ? 128 : 32;
    fail(r, path, `invalid CIDR "${text}": the prefix length must be a number from 0 to ${max}`);
    return undefined;
  }
  if (hasHostBits(text)) {
    const network = `${formatIp({ family: range.family, value: range.first })}${text.slice(slash)}`;
    warn(r, path, `"${text}" has host bits set; it is read as "${network}"`);
  }
  return range;
}

// ------------------------------------------------------------ label selectors

function readSelector(r: Report, raw: unknown, path: string): LabelSelector | undefined {
  if (!isObject(raw)) {
    fail(
      r,
      path,
      `must be a label selector (an object with matchLabels and/or matchExpressions), not ${show(raw)}`,
    );
    return undefined;
  }
  const before = r.problems.length;
  rejectUnknownFields(r, raw, path, SELECTOR_FIELDS);
  const labelsRaw = own(raw, 'matchLabels');
  const matchLabels =
    labelsRaw === undefined ? {} : readLabels(r, labelsRaw, `${path}.matchLabels`);
  const matchExpressions = (
    readList(r, raw, 'matchExpressions', `${path}.matchExpressions`) ?? []
  ).map((e, i) => readRequirement(r, e, `${path}.matchExpressions[${i}]`));
  if (!matchLabels || errorsSince(r, before)) return undefined;
  return {
    matchLabels,
    matchExpressions: matchExpressions.filter((e): e is SelectorRequirement => e !== undefined),
  };
}

function readRequirement(r: Report, raw: unknown, path: string): SelectorRequirement | undefined {
  if (!isObject(raw)) {
    fail(r, path, 'must be an object with key, operator and values');
    return undefined;
  }
  rejectUnknownFields(r, raw, path, ['key', 'operator', 'values']);
  const key = readString(r, raw, 'key', `${path}.key`);
  if (key === undefined) {
    if (own(raw, 'key') === undefined) fail(r, `${path}.key`, 'is required');
  } else {
    checkLabelKey(r, key, `${path}.key`);
  }
  const opRaw = own(raw, 'operator');
  const operator = OPERATORS.find((o) => o === opRaw);
  if (operator === undefined) {
    const message =
      opRaw === undefined
        ? 'is required'
        : `unknown operator ${show(opRaw)}; use In, NotIn, Exists or DoesNotExist`;
    fail(r, `${path}.operator`, message);
  }
  const values: string[] = [];
  const rawValues = readList(r, raw, 'values', `${path}.values`) ?? [];
  rawValues.forEach((v, i) => {
    if (typeof v === 'string') {
      values.push(v);
      checkLabelValue(r, v, `${path}.values[${i}]`);
    } else {
      fail(r, `${path}.values[${i}]`, `must be a string, not ${show(v)}; quote it`);
    }
  });
  if ((operator === 'In' || operator === 'NotIn') && rawValues.length === 0) {
    fail(r, `${path}.values`, `operator ${operator} needs at least one value`);
  }
  if ((operator === 'Exists' || operator === 'DoesNotExist') && rawValues.length > 0) {
    fail(r, `${path}.values`, `operator ${operator} takes no values`);
  }
  if (key === undefined || operator === undefined) return undefined;
  return { key, operator, values };
}

function readLabels(r: Report, raw: unknown, path: string): Labels | undefined {
  if (!isObject(raw)) {
    fail(r, path, `must be a map of label names to string values, not ${show(raw)}`);
    return undefined;
  }
  const entries: [string, string][] = [];
  let ok = true;
  for (const [key, value] of Object.entries(raw)) {
    const keyOk = checkLabelKey(r, key, `${path}.${key}`);
    if (typeof value !== 'string') {
      ok =
        fail(r, `${path}.${key}`, `label values are strings, not ${show(value)}; quote it`) ??
        false;
      continue;
    }
    ok = checkLabelValue(r, value, `${path}.${key}`) && keyOk && ok;
    entries.push([key, value]);
  }
  return ok ? Object.fromEntries(entries) : undefined;
}

function checkLabelKey(r: Report, key: string, path: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? '' : key.slice(0, slash);
  const name = key.slice(slash + 1);
  const prefixOk = slash < 0 || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix));
  if (prefixOk && name.length <= 63 && LABEL_NAME.test(name)) return true;
  fail(
    r,
    path,
    `invalid label key "${key}": an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
  );
  return false;
}

function checkLabelValue(r: Report, value: string, path: string): boolean {
  if (value === '' || (value.length <= 63 && LABEL_NAME.test(value))) return true;
  fail(
    r,
    path,
    `invalid label value "${value}": at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
  );
  return false;
}

// ------------------------------------------------------------ Pod

/**
 * Converts a v1 Pod (plain JSON; `kind` and `apiVersion` are not checked).
 *
 * - `ips`: every `status.podIPs[].ip`, else `status.podIP`; canonical text,
 *   duplicates dropped, order kept.
 * - `phase`: `status.phase`; when absent, `Running` if the pod has IPs (a
 *   hand-written manifest that gives IPs means a running pod), else `Pending`.
 * - `nodeName`: `spec.nodeName`, empty when unscheduled; `hostNetwork`:
 *   `spec.hostNetwork`, default false.
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
  const nodeName = readString(r, spec, 'nodeName', 'spec.nodeName') ?? '';
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
  });
}

function readPodIps(r: Report, status: JsonObject): string[] {
  const ips: string[] = [];
  const add = (raw: unknown, path: string): void => {
    if (typeof raw !== 'string') {
      fail(r, path, `must be an IP address string, not ${show(raw)}`);
      return;
    }
    try {
      const ip = canonicalIp(raw);
      if (!ips.includes(ip)) ips.push(ip);
    } catch (e) {
      fail(r, path, errorMessage(e));
    }
  };
  const list = readList(r, status, 'podIPs', 'status.podIPs');
  if (list !== undefined && list.length > 0) {
    list.forEach((entry, i) => {
      if (isObject(entry)) add(own(entry, 'ip'), `status.podIPs[${i}].ip`);
      else fail(r, `status.podIPs[${i}]`, 'must be an object with ip');
    });
  } else {
    const single = own(status, 'podIP');
    if (single !== undefined && single !== '') add(single, 'status.podIP');
  }
  return ips;
}

function readContainerPorts(r: Report, spec: JsonObject, key: string): ContainerPort[] {
  const out: ContainerPort[] = [];
  (readList(r, spec, key, `spec.${key}`) ?? []).forEach((c, i) => {
    const cPath = `spec.${key}[${i}]`;
    if (!isObject(c)) {
      fail(r, cPath, 'must be an object');
      return;
    }
    (readList(r, c, 'ports', `${cPath}.ports`) ?? []).forEach((p, j) => {
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
  const list = readList(r, spec, 'podCIDRs', 'spec.podCIDRs');
  const cidrs =
    list !== undefined && list.length > 0
      ? list.map((c, i) => [c, `spec.podCIDRs[${i}]`] as const)
      : own(spec, 'podCIDR') !== undefined
        ? [[own(spec, 'podCIDR'), 'spec.podCIDR'] as const]
        : [];
  for (const [c, path] of cidrs) {
    if (typeof c !== 'string') fail(r, path, `must be a CIDR string, not ${show(c)}`);
    else if (checkCidr(r, c, path) && !podCIDRs.includes(c)) podCIDRs.push(c);
  }
  const addresses: string[] = [];
  (readList(r, status, 'addresses', 'status.addresses') ?? []).forEach((a, i) => {
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

// ------------------------------------------------------------ metadata

interface Metadata {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Labels;
}

function readMetadata(
  r: Report,
  obj: JsonObject,
  namespaced: boolean,
  nameFormat: RegExp,
): Metadata | undefined {
  const meta = readObject(r, obj, 'metadata', 'metadata');
  if (!meta) {
    if (own(obj, 'metadata') === undefined) fail(r, 'metadata.name', 'is required');
    return undefined;
  }
  const name = readName(r, meta, 'name', nameFormat);
  const namespace = namespaced ? readName(r, meta, 'namespace', DNS_LABEL) : '';
  const labelsRaw = own(meta, 'labels');
  const labels = labelsRaw === undefined ? {} : readLabels(r, labelsRaw, 'metadata.labels');
  if (name === undefined || namespace === undefined || labels === undefined) return undefined;
  return { name, namespace, labels };
}

function readName(
  r: Report,
  meta: JsonObject,
  key: 'name' | 'namespace',
  format: RegExp,
): string | undefined {
  const path = `metadata.${key}`;
  const raw = own(meta, key);
  if (raw === undefined || raw === '') {
    const why = key === 'namespace' ? ' (nftpol does not assume "default")' : '';
    fail(r, path, `is required${why}`);
    return undefined;
  }
  if (typeof raw !== 'string') {
    fail(r, path, `must be a string, not ${show(raw)}`);
    return undefined;
  }
  const max = format === DNS_LABEL ? 63 : 253;
  if (raw.length > max || !format.test(raw)) {
    fail(
      r,
      path,
      `invalid ${key} "${raw}": at most ${max} lower-case letters, digits and '-'${format === DNS_LABEL ? '' : " or '.'"}, starting and ending with a letter or digit`,
    );
    return undefined;
  }
  return raw;
}

/** `NetworkPolicy a/deny`, `Node n1`, with placeholders for what is missing. */
function describeObject(kind: string, object: unknown, namespaced: boolean): string {
  const meta = isObject(object) ? own(object, 'metadata') : undefined;
  const name = (isObject(meta) && stringOr(own(meta, 'name'))) || '<no name>';
  if (!namespaced) return `${kind} ${name}`;
  const namespace = (isObject(meta) && stringOr(own(meta, 'namespace'))) || '<no namespace>';
  return `${kind} ${namespace}/${name}`;
}

// ------------------------------------------------------------ reading plain JSON

function startReport(source: string, object: string): Report {
  return { source, object, problems: [] };
}

function finish<T>(r: Report, value: T): Conversion<T> {
  return { value: hasErrors(r) ? null : value, problems: r.problems };
}

function skipped(r: Report): Conversion<never> {
  return { value: null, problems: r.problems };
}

/** Records an error; returns undefined so callers can write `ok = fail(…) ?? false`. */
function fail(r: Report, field: string, message: string): undefined {
  r.problems.push({ severity: 'error', source: r.source, object: r.object, field, message });
  return undefined;
}

function warn(r: Report, field: string, message: string): void {
  r.problems.push({ severity: 'warning', source: r.source, object: r.object, field, message });
}

function hasErrors(r: Report): boolean {
  return r.problems.some((p) => p.severity === 'error');
}

function errorsSince(r: Report, index: number): boolean {
  return r.problems.slice(index).some((p) => p.severity === 'error');
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An own property, with JSON null read as absent (as the API server reads it). */
function own(obj: JsonObject, key: string): unknown {
  return Object.hasOwn(obj, key) ? (obj[key] ?? undefined) : undefined;
}

function stringOr(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function readObject(r: Report, obj: JsonObject, key: string, path: string): JsonObject | undefined {
  const v = own(obj, key);
  if (v === undefined || isObject(v)) return v;
  return fail(r, path, `must be an object, not ${show(v)}`);
}

function readList(
  r: Report,
  obj: JsonObject,
  key: string,
  path: string,
): readonly unknown[] | undefined {
  const v = own(obj, key);
  if (v === undefined || Array.isArray(v)) return v;
  return fail(r, path, `must be a list, not ${show(v)}`);
}

function readString(r: Report, obj: JsonObject, key: string, path: string): string | undefined {
  const v = own(obj, key);
  if (v === undefined || typeof v === 'string') return v;
  return fail(r, path, `must be a string, not ${show(v)}`);
}

function readBoolean(r: Report, obj: JsonObject, key: string, path: string): boolean | undefined {
  const v = own(obj, key);
  if (v === undefined || typeof v === 'boolean') return v;
  return fail(r, path, `must be true or false, not ${show(v)}`);
}

/**
 * Reports every field of `obj` not in `allowed`, suggesting the closest
 * allowed name (or a `hints` text) so that a typo is easy to fix.
 */
function rejectUnknownFields(
  r: Report,
  obj: JsonObject,
  path: string,
  allowed: readonly string[],
  hints: Readonly<Record<string, string>> = {},
): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue;
    const hint = Object.hasOwn(hints, key) ? hints[key] : undefined;
    const close = closestName(key, allowed);
    const advice =
      hint ?? (close ? `did you mean "${close}"?` : `expected one of ${allowed.join(', ')}`);
    fail(
      r,
      path ? `${path}.${key}` : key,
      `unknown field "${key}" (${advice}); unknown fields are rejected because ignoring them could widen access`,
    );
  }
}

/** The allowed name within edit distance 2 (or equal ignoring case), if any. */
function closestName(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of allowed) {
    const d = name.toLowerCase() === key.toLowerCase() ? 0 : editDistance(name, key);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** A value as it appears in a message: strings quoted, objects by kind. */
function show(value: unknown): string {
  if (typeof value === 'string') return `"${value}"`;
  if (Array.isArray(value)) return 'a list';
  if (isObject(value)) return 'an object';
  return String(value);
}

function familyName(family: 'ip' | 'ip6'): string {
  return family === 'ip' ? 'IPv4' : 'IPv6';
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
