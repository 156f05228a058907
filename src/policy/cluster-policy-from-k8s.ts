/**
 * policy.networking.k8s.io/v1alpha2 ClusterNetworkPolicy → the model, with
 * the upstream CRD's validation repeated (and more), because the CLI reads
 * YAML that no API server has seen and a controller may run beside an older
 * or newer CRD than ours. Any error skips the policy; every other object
 * still loads (as with NetworkPolicy, policy-from-k8s.ts).
 *
 * What cannot be honoured is not an error but fails closed, as the API asks:
 * the experimental `nodes` and `domainNames` peers, and a peer that sets no
 * field nftpol knows (a newer CRD's peer, or `networks` in an ingress peer,
 * which the ingress type does not have). Such a rule keeps its other peers
 * and carries `failClosed` with the reason; each such peer is a warning, so
 * it is never silent.
 *
 * Errors name the object, the rule by index and name, then the field in the
 * rule: field `spec.egress[2] ("deny-dns"): protocols[0].tcp.destinationPort.range`.
 *
 * Pure: no I/O.
 */
import type { ObjectSource } from './assemble-cluster.js';
import {
  type Conversion,
  type JsonObject,
  type Problem,
  type Report,
  DNS_SUBDOMAIN,
  editDistance,
  fail,
  finish,
  hasErrors,
  isObject,
  own,
  problemOf,
  readItems,
  readObject,
  rejectUnknownFields,
  show,
  skipped,
  startReport,
  stringOr,
  warn,
} from './k8s-read.js';
import { readSelector } from './labels-from-k8s.js';
import { describeObject, readMetadata } from './metadata-from-k8s.js';
import type {
  ClusterAction,
  ClusterPeer,
  ClusterPolicy,
  ClusterPort,
  ClusterRule,
  Direction,
  LabelSelector,
  Protocol,
  Tier,
} from './model.js';
import { compareText } from './order.js';
import { isPortName } from './ports.js';
import { EVERYTHING } from './selector.js';
import { checkCidr, checkPortNumber } from './values-from-k8s.js';

/** The kind, and the apiVersion it must carry. */
export const CLUSTER_POLICY_KIND = 'ClusterNetworkPolicy';
export const CLUSTER_POLICY_API_VERSION = 'policy.networking.k8s.io/v1alpha2';

/** Upstream limits: rules per direction, peers per rule, protocols per rule, CIDRs per peer. */
const MAX_RULES = 25;
const MAX_ITEMS = 25;
const MAX_RULE_NAME = 100;
const MIN_PRIORITY = 0;
const MAX_PRIORITY = 1000;

const POLICY_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const SPEC_FIELDS = ['tier', 'priority', 'subject', 'ingress', 'egress'];
const SUBJECT_FIELDS = ['namespaces', 'pods'];
const NAMESPACED_POD_FIELDS = ['namespaceSelector', 'podSelector'];
const PROTOCOL_FIELDS = ['tcp', 'udp', 'sctp', 'destinationNamedPort'];
const PORT_FIELDS = ['number', 'range'];
const TIERS: readonly Tier[] = ['Admin', 'Baseline'];
const ACTIONS: readonly ClusterAction[] = ['Accept', 'Deny', 'Pass'];
const PROTOCOL_OF: Readonly<Record<string, Protocol>> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };

/** The peer fields of each direction's type; egress `nodes` and `domainNames` fail closed. */
const PEER_FIELDS: Readonly<Record<Direction, readonly string[]>> = {
  ingress: ['namespaces', 'pods'],
  egress: ['namespaces', 'pods', 'networks', 'nodes', 'domainNames'],
};
const UNSUPPORTED_PEERS = ['nodes', 'domainNames'];
/** Egress peers that have no named ports. */
const PORTLESS_PEERS = ['networks', 'nodes', 'domainNames'];

/**
 * Converts a ClusterNetworkPolicy (plain JSON; `kind` and `apiVersion` are
 * not checked, so list items from the API work).
 *
 * - `subject.namespaces`: that namespaceSelector with the empty podSelector;
 *   `subject.pods` without `namespaceSelector`: every namespace.
 * - A `namespaces` peer is a `pods` peer with the empty podSelector.
 * - Rule `name` absent: `''`; `protocols` absent: `ports` null (every
 *   protocol and port).
 * - Rules keep their written order.
 *
 * Any error makes `value` null; warnings (a rule that fails closed, CIDR
 * host bits) do not.
 * @param source shown in problems, e.g. `policies.yaml#3`
 */
export function clusterPolicyFromK8s(object: unknown, source = ''): Conversion<ClusterPolicy> {
  const r = startReport(source, describeObject(CLUSTER_POLICY_KIND, object, false));
  if (!isObject(object)) {
    fail(r, '', 'must be an object');
    return skipped(r);
  }
  rejectUnknownFields(r, object, '', POLICY_FIELDS);
  const meta = readMetadata(r, object, false, DNS_SUBDOMAIN);
  const namespace = isObject(own(object, 'metadata'))
    ? stringOr(own(own(object, 'metadata') as JsonObject, 'namespace'))
    : '';
  if (namespace !== '') {
    warn(
      r,
      'metadata.namespace',
      `a ClusterNetworkPolicy is cluster-scoped; namespace "${namespace}" is ignored`,
    );
  }
  const spec = readObject(r, object, 'spec', 'spec');
  if (spec === undefined) {
    if (own(object, 'spec') === undefined)
      fail(r, 'spec', 'Required value: tier, priority and subject');
    return skipped(r);
  }
  rejectUnknownFields(r, spec, 'spec', SPEC_FIELDS);
  const tier = readTier(r, spec);
  const priority = readPriority(r, spec);
  const subject = readSubject(r, spec);
  const ingress = readRules(r, spec, 'ingress');
  const egress = readRules(r, spec, 'egress');
  if (!meta || tier === undefined || priority === undefined || !subject || hasErrors(r)) {
    return skipped(r);
  }
  return finish(r, { name: meta.name, tier, priority, subject, ingress, egress });
}

function readTier(r: Report, spec: JsonObject): Tier | undefined {
  const raw = own(spec, 'tier');
  const found = TIERS.find((t) => t === raw);
  if (found !== undefined) return found;
  if (raw === undefined) return fail(r, 'spec.tier', 'Required value: Admin or Baseline');
  return fail(r, 'spec.tier', `unknown tier ${show(raw)}; use ${caseHint(raw, TIERS)}`);
}

function readPriority(r: Report, spec: JsonObject): number | undefined {
  const raw = own(spec, 'priority');
  const range = `${MIN_PRIORITY}–${MAX_PRIORITY}`;
  if (raw === undefined) {
    return fail(
      r,
      'spec.priority',
      `Required value: an integer ${range}, lower is evaluated first`,
    );
  }
  if (typeof raw !== 'number') {
    return fail(r, 'spec.priority', `must be an integer ${range}, not ${show(raw)}`);
  }
  if (!Number.isInteger(raw)) return fail(r, 'spec.priority', `priority ${raw} is not an integer`);
  if (raw < MIN_PRIORITY || raw > MAX_PRIORITY) {
    return fail(r, 'spec.priority', `priority ${raw} is out of range ${range}`);
  }
  return raw;
}

function readSubject(r: Report, spec: JsonObject): ClusterPolicy['subject'] | undefined {
  const raw = readObject(r, spec, 'subject', 'spec.subject');
  if (raw === undefined) {
    if (own(spec, 'subject') === undefined) {
      fail(r, 'spec.subject', 'Required value: exactly one of namespaces or pods');
    }
    return undefined;
  }
  rejectUnknownFields(r, raw, 'spec.subject', SUBJECT_FIELDS);
  const set = SUBJECT_FIELDS.filter((k) => own(raw, k) !== undefined);
  if (set.length !== 1) {
    const why = set.length === 0 ? 'neither is set' : 'both are set';
    return fail(r, 'spec.subject', `exactly one of namespaces or pods must be set; ${why}`);
  }
  if (set[0] === 'namespaces') {
    const namespaceSelector = readSelector(r, own(raw, 'namespaces'), 'spec.subject.namespaces');
    return namespaceSelector && { namespaceSelector, podSelector: EVERYTHING };
  }
  return readNamespacedPod(r, own(raw, 'pods'), 'spec.subject.pods');
}

/** `{namespaceSelector?, podSelector}`: a subject's or a peer's `pods`. */
function readNamespacedPod(
  r: Report,
  raw: unknown,
  path: string,
): { namespaceSelector: LabelSelector; podSelector: LabelSelector } | undefined {
  if (!isObject(raw)) {
    return fail(
      r,
      path,
      `must be an object with podSelector and optional namespaceSelector, not ${show(raw)}`,
    );
  }
  rejectUnknownFields(r, raw, path, NAMESPACED_POD_FIELDS);
  const nsRaw = own(raw, 'namespaceSelector');
  const podRaw = own(raw, 'podSelector');
  const namespaceSelector =
    nsRaw === undefined ? EVERYTHING : readSelector(r, nsRaw, `${path}.namespaceSelector`);
  if (podRaw === undefined) {
    fail(r, `${path}.podSelector`, 'Required value: use podSelector: {} for every pod');
    return undefined;
  }
  const podSelector = readSelector(r, podRaw, `${path}.podSelector`);
  return namespaceSelector && podSelector && { namespaceSelector, podSelector };
}

// ------------------------------------------------------------ rules

function readRules(r: Report, spec: JsonObject, direction: Direction): ClusterRule[] {
  const path = `spec.${direction}`;
  const items = readItems(r, spec, direction, path, {}) ?? [];
  if (items.length > MAX_RULES) {
    fail(r, path, `Too many: ${items.length}: must have at most ${MAX_RULES} rules`);
  }
  const rules: ClusterRule[] = [];
  items.forEach((raw, i) => {
    const rule = readRule(r, raw, `${path}[${i}]`, direction);
    if (rule) rules.push(rule);
  });
  return rules;
}

function readRule(
  r: Report,
  raw: unknown,
  rulePath: string,
  direction: Direction,
): ClusterRule | undefined {
  const peersKey = direction === 'ingress' ? 'from' : 'to';
  if (!isObject(raw)) {
    return fail(
      r,
      rulePath,
      `must be an object with action, ${peersKey} and optional name and protocols`,
    );
  }
  const nameRaw = own(raw, 'name');
  const name = typeof nameRaw === 'string' ? nameRaw : '';
  // The rule by index and name, then the field inside it.
  const label = name === '' ? rulePath : `${rulePath} (${JSON.stringify(name)})`;
  const at = (field: string): string => `${label}: ${field}`;
  const otherKey = direction === 'ingress' ? 'to' : 'from';
  rejectUnknownFields(r, raw, label, ['name', 'action', peersKey, 'protocols'], {
    [otherKey]: `${direction} rules name their peers in "${peersKey}"`,
  });
  if (nameRaw !== undefined && typeof nameRaw !== 'string') {
    fail(r, at('name'), `must be a string, not ${show(nameRaw)}`);
  } else if (name.length > MAX_RULE_NAME) {
    fail(r, at('name'), `Too long: ${name.length} characters: at most ${MAX_RULE_NAME}`);
  }
  const action = readAction(r, own(raw, 'action'), at('action'));

  const peerItems = readItems(r, raw, peersKey, at(peersKey), {});
  if (peerItems === undefined) {
    if (own(raw, peersKey) === undefined) {
      fail(r, at(peersKey), 'Required value: at least one peer');
    }
  } else {
    checkCount(r, peerItems.length, at(peersKey), 'peer');
  }
  const peers: ClusterPeer[] = [];
  const closed: string[] = [];
  let portless: string | undefined;
  (peerItems ?? []).forEach((p, j) => {
    const peerField = `${peersKey}[${j}]`;
    const read = readPeer(r, p, at(peerField), direction, action);
    if (read.kind === 'peer') peers.push(read.peer);
    if (read.kind === 'closed') closed.push(`${peerField}: ${read.reason}`);
    const field = isObject(p) ? PORTLESS_PEERS.find((k) => own(p, k) !== undefined) : undefined;
    if (portless === undefined && field !== undefined && direction === 'egress') {
      portless = `${peerField}.${field}`;
    }
  });

  const protocolItems = readItems(r, raw, 'protocols', at('protocols'), {});
  if (protocolItems !== undefined) checkCount(r, protocolItems.length, at('protocols'), 'protocol');
  const ports: ClusterPort[] = [];
  (protocolItems ?? []).forEach((p, j) => {
    const port = readProtocol(r, p, at(`protocols[${j}]`));
    if (port === undefined) return;
    ports.push(port);
    if (port.kind === 'named' && portless !== undefined) {
      fail(
        r,
        at(`protocols[${j}].destinationNamedPort`),
        `a named port cannot be used in a rule with a ${portless.replace(/^.*\./, '')} peer (${portless}): only pods have named ports`,
      );
    }
  });

  if (action === undefined) return undefined;
  const failClosed = closed.length === 0 ? null : closed.join('; ');
  return { name, action, peers, ports: protocolItems === undefined ? null : ports, failClosed };
}

function readAction(r: Report, raw: unknown, path: string): ClusterAction | undefined {
  const found = ACTIONS.find((a) => a === raw);
  if (found !== undefined) return found;
  if (raw === undefined) return fail(r, path, 'Required value: Accept, Deny or Pass');
  const hint =
    raw === 'Allow'
      ? '"Accept" ("Allow" is the v1alpha1 AdminNetworkPolicy action)'
      : caseHint(raw, ACTIONS);
  return fail(r, path, `unknown action ${show(raw)}; use ${hint}`);
}

/** What a rule that fails closed does, as the API asks. */
function closedEffect(action: ClusterAction | undefined): string {
  if (action === undefined) return 'the rule fails closed';
  const what = action === 'Accept' ? 'matches no traffic' : 'denies all traffic';
  return `the rule fails closed: as ${action === 'Accept' ? 'an' : 'a'} ${action} rule it ${what}`;
}

function checkCount(r: Report, n: number, path: string, what: string): void {
  if (n === 0) fail(r, path, `must have at least 1 ${what}, not an empty list`);
  if (n > MAX_ITEMS) fail(r, path, `Too many: ${n}: must have at most ${MAX_ITEMS} ${what}s`);
}

// ------------------------------------------------------------ peers

type PeerRead =
  | { readonly kind: 'peer'; readonly peer: ClusterPeer }
  | { readonly kind: 'closed'; readonly reason: string }
  | { readonly kind: 'error' };

/**
 * One peer: exactly one field. A peer with no field of its direction's type
 * (unknown, or `networks` on ingress) and a `nodes` or `domainNames` peer
 * fail closed, with a warning at `path`.
 */
function readPeer(
  r: Report,
  raw: unknown,
  path: string,
  direction: Direction,
  action: ClusterAction | undefined,
): PeerRead {
  const error = { kind: 'error' } as const;
  if (!isObject(raw)) {
    fail(r, path, `must be an object with exactly one of ${PEER_FIELDS[direction].join(', ')}`);
    return error;
  }
  const allowed = PEER_FIELDS[direction];
  const set = Object.keys(raw).filter((k) => own(raw, k) !== undefined);
  const known = set.filter((k) => allowed.includes(k));
  if (known.length === 0) {
    const reason = unknownPeerReason(set, direction);
    warn(r, path, `${reason}; ${closedEffect(action)}`);
    return { kind: 'closed', reason };
  }
  if (set.length > 1) {
    fail(
      r,
      path,
      `exactly one of ${allowed.join(', ')} may be set in a peer, not ${set.join(' and ')}; use separate peers`,
    );
    return error;
  }
  const field = known[0] ?? '';
  const at = `${path}.${field}`;
  if (UNSUPPORTED_PEERS.includes(field)) {
    const reason = `${field} peers are not supported`;
    warn(
      r,
      at,
      `${field} peers (experimental) are not supported by nftpol; ${closedEffect(action)}`,
    );
    return { kind: 'closed', reason };
  }
  if (field === 'namespaces') {
    const namespaceSelector = readSelector(r, own(raw, field), at);
    if (!namespaceSelector) return error;
    return { kind: 'peer', peer: { kind: 'pods', namespaceSelector, podSelector: EVERYTHING } };
  }
  if (field === 'pods') {
    const pods = readNamespacedPod(r, own(raw, field), at);
    return pods ? { kind: 'peer', peer: { kind: 'pods', ...pods } } : error;
  }
  const cidrs = readNetworks(r, raw, at);
  return cidrs ? { kind: 'peer', peer: { kind: 'networks', cidrs } } : error;
}

/** Why a peer with none of its type's fields fails closed. */
function unknownPeerReason(set: readonly string[], direction: Direction): string {
  if (set.length === 0) return `sets no field (a newer CRD's peer that this reader dropped?)`;
  const names = set.map((k) => `"${k}"`).join(', ');
  if (direction === 'ingress' && set.every((k) => PEER_FIELDS.egress.includes(k))) {
    return `${names} is not a field of an ingress peer (only egress peers have it)`;
  }
  const close = set
    .flatMap((k) =>
      PEER_FIELDS[direction].filter((f) => editDistance(f.toLowerCase(), k.toLowerCase()) <= 2),
    )
    .at(0);
  const hint = close === undefined ? 'a newer CRD?' : `did you mean "${close}"?`;
  return `unknown field ${names} (${hint})`;
}

function readNetworks(r: Report, raw: JsonObject, path: string): string[] | undefined {
  const items = readItems(r, raw, 'networks', path, '') ?? [];
  checkCount(r, items.length, path, 'CIDR');
  const cidrs: string[] = [];
  let ok = items.length > 0 && items.length <= MAX_ITEMS;
  items.forEach((c, i) => {
    const at = `${path}[${i}]`;
    if (typeof c !== 'string') {
      ok = fail(r, at, `must be a CIDR string, not ${show(c)}`) ?? false;
      return;
    }
    const checked = checkCidr(r, c, at);
    if (checked === undefined) {
      ok = false;
    } else if (items.indexOf(c) !== i) {
      ok = fail(r, at, `Duplicate value: "${c}"`) ?? false;
    } else {
      cidrs.push(checked.text);
    }
  });
  return ok ? cidrs : undefined;
}

// ------------------------------------------------------------ protocols

/** One `protocols` entry: exactly one of tcp, udp, sctp, destinationNamedPort. */
function readProtocol(r: Report, raw: unknown, path: string): ClusterPort | undefined {
  if (!isObject(raw)) {
    return fail(r, path, `must be an object with exactly one of ${PROTOCOL_FIELDS.join(', ')}`);
  }
  rejectUnknownFields(r, raw, path, PROTOCOL_FIELDS, {
    icmp: 'a rule without protocols matches every protocol, ICMP included',
  });
  const set = PROTOCOL_FIELDS.filter((k) => own(raw, k) !== undefined);
  if (set.length !== 1) {
    const why =
      set.length === 0 ? 'none is set' : `${set.join(' and ')} are set; use separate entries`;
    return fail(r, path, `exactly one of ${PROTOCOL_FIELDS.join(', ')} must be set; ${why}`);
  }
  const field = set[0] ?? '';
  const at = `${path}.${field}`;
  const value = own(raw, field);
  if (field === 'destinationNamedPort') return readNamedPort(r, value, at);
  const protocol = PROTOCOL_OF[field] ?? 'TCP';
  if (!isObject(value))
    return fail(r, at, `must be an object with destinationPort, not ${show(value)}`);
  rejectUnknownFields(r, value, at, ['destinationPort']);
  const port = readObject(r, value, 'destinationPort', `${at}.destinationPort`);
  if (port === undefined) {
    if (own(value, 'destinationPort') === undefined) {
      fail(r, `${at}.destinationPort`, 'Required value: a number or a range');
    }
    return undefined;
  }
  return readPort(r, port, `${at}.destinationPort`, protocol);
}

function readNamedPort(r: Report, raw: unknown, path: string): ClusterPort | undefined {
  if (typeof raw !== 'string') return fail(r, path, `must be a port name, not ${show(raw)}`);
  if (/^[0-9]+$/.test(raw)) {
    return fail(
      r,
      path,
      `"${raw}" is a number; match it with tcp, udp or sctp: destinationPort: {number: ${raw}}`,
    );
  }
  if (!isPortName(raw)) {
    return fail(
      r,
      path,
      `invalid port name "${raw}": at most 15 lower-case letters, digits and '-', with a letter, not starting or ending with '-'`,
    );
  }
  return { kind: 'named', name: raw };
}

/** `destinationPort`: exactly one of number or range {start, end}, start < end. */
function readPort(
  r: Report,
  raw: JsonObject,
  path: string,
  protocol: Protocol,
): ClusterPort | undefined {
  rejectUnknownFields(r, raw, path, PORT_FIELDS);
  const set = PORT_FIELDS.filter((k) => own(raw, k) !== undefined);
  if (set.length !== 1) {
    const why = set.length === 0 ? 'neither is set' : 'both are set';
    return fail(r, path, `exactly one of number or range must be set; ${why}`);
  }
  if (set[0] === 'number') {
    const n = own(raw, 'number');
    if (typeof n !== 'number') return fail(r, `${path}.number`, `must be a number, not ${show(n)}`);
    if (!checkPortNumber(r, n, `${path}.number`, 'port')) return undefined;
    return { kind: 'port', protocol, first: n, last: n };
  }
  const range = readObject(r, raw, 'range', `${path}.range`);
  if (range === undefined) return undefined;
  rejectUnknownFields(r, range, `${path}.range`, ['start', 'end']);
  const start = readRangeEnd(r, range, 'start', `${path}.range`);
  const end = readRangeEnd(r, range, 'end', `${path}.range`);
  if (start === undefined || end === undefined) return undefined;
  if (start >= end) return fail(r, `${path}.range`, `start ${start} must be less than end ${end}`);
  return { kind: 'port', protocol, first: start, last: end };
}

function readRangeEnd(
  r: Report,
  range: JsonObject,
  key: 'start' | 'end',
  path: string,
): number | undefined {
  const n = own(range, key);
  if (n === undefined) return fail(r, `${path}.${key}`, 'Required value: a port 1–65535');
  if (typeof n !== 'number') return fail(r, `${path}.${key}`, `must be a number, not ${show(n)}`);
  return checkPortNumber(r, n, `${path}.${key}`, key) ? n : undefined;
}

/** `"Admin" (tiers are case-sensitive)` for `admin`, else the list of choices. */
function caseHint(raw: unknown, choices: readonly string[]): string {
  const lower = typeof raw === 'string' ? raw.toLowerCase() : '';
  const close = choices.find((c) => c.toLowerCase() === lower);
  if (close !== undefined) return `"${close}" (case-sensitive)`;
  return choices.join(choices.length === 2 ? ' or ' : ', ').replace(/, (\w+)$/, ' or $1');
}

// ------------------------------------------------------------ ordering

/**
 * One warning per group of two or more policies with the same tier and
 * priority: the API leaves their order open, nftpol evaluates them by name
 * (code-point order, {@link compareText}). The warning is on the group's
 * first policy by name and names every member, in evaluation order.
 * @param sources where each policy (by name) came from, for the warning's
 *   source and object; default: no source, object `ClusterNetworkPolicy <name>`
 */
export function equalPriorityWarnings(
  policies: readonly ClusterPolicy[],
  sources: ReadonlyMap<string, ObjectSource> = new Map(),
): Problem[] {
  const groups = new Map<string, ClusterPolicy[]>();
  for (const p of policies) {
    const key = `${p.tier}/${p.priority}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const warnings: Problem[] = [];
  const ordered = [...groups.values()]
    .filter((g) => g.length > 1)
    .map((g) => [...g].sort((a, b) => compareText(a.name, b.name)))
    .sort(
      (a, b) =>
        compareText(a[0]?.tier ?? '', b[0]?.tier ?? '') ||
        (a[0]?.priority ?? 0) - (b[0]?.priority ?? 0),
    );
  for (const group of ordered) {
    const [first] = group;
    if (first === undefined) continue;
    const where = sources.get(first.name);
    const names = group.map((p) => `"${p.name}"`);
    const all = group.length === 2 ? 'both' : `all ${group.length}`;
    warnings.push(
      problemOf(
        'warning',
        where?.source ?? '',
        where?.object ?? `${CLUSTER_POLICY_KIND} ${first.name}`,
        'spec.priority',
        `ClusterNetworkPolicies ${names.join(', ')} ${all} have tier ${first.tier} and priority ${first.priority}, which leaves their order open; nftpol evaluates them by name: ${names.join(' before ')}`,
      ),
    );
  }
  return warnings;
}
