/**
 * networking.k8s.io/v1 NetworkPolicy → the model: policyTypes and protocol
 * defaulting as the API server does, and validation beyond it (unknown fields,
 * endPort, CIDRs and their except, named ports). Any error skips the policy.
 *
 * Pure: no I/O.
 */
import type { Direction, Peer, Policy, PortSpec, Rule } from './model.js';
import { rangeCovers } from './cidr.js';
import { EVERYTHING } from './selector.js';
import {
  type Conversion,
  type JsonObject,
  type Report,
  DNS_SUBDOMAIN,
  startReport,
  finish,
  skipped,
  fail,
  hasErrors,
  isObject,
  own,
  readObject,
  readItems,
  readString,
  rejectUnknownFields,
  show,
  familyName,
} from './k8s-read.js';
import { readSelector } from './labels-from-k8s.js';
import { describeObject, readMetadata } from './metadata-from-k8s.js';
import { checkCidr, checkPortName, checkPortNumber, readProtocol } from './values-from-k8s.js';

// ------------------------------------------------------------ NetworkPolicy

const POLICY_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const SPEC_FIELDS = ['podSelector', 'policyTypes', 'ingress', 'egress'];
const PEER_FIELDS = ['podSelector', 'namespaceSelector', 'ipBlock'];
const PORT_FIELDS = ['protocol', 'port', 'endPort'];

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

/**
 * As the API server validates it: at most two entries, each Ingress or
 * Egress, none twice (so a stray third entry never adds a direction).
 */
function readPolicyTypes(r: Report, spec: JsonObject): readonly Direction[] {
  const given = readItems(r, spec, 'policyTypes', 'spec.policyTypes', '') ?? [];
  if (given.length === 0) {
    const egress = own(spec, 'egress');
    return Array.isArray(egress) && egress.length > 0 ? ['ingress', 'egress'] : ['ingress'];
  }
  if (given.length > 2) {
    fail(
      r,
      'spec.policyTypes',
      `Invalid value: ${given.length} entries: may not specify more than two policyTypes (Ingress and Egress, each once)`,
    );
    return [];
  }
  const found = new Set<Direction>();
  given.forEach((t, i) => {
    const direction = t === 'Ingress' ? 'ingress' : t === 'Egress' ? 'egress' : null;
    if (direction === null) {
      fail(r, `spec.policyTypes[${i}]`, `unknown policy type ${show(t)}; use Ingress or Egress`);
    } else if (found.has(direction)) {
      fail(r, `spec.policyTypes[${i}]`, `Duplicate value: ${show(t)}`);
    }
    if (direction !== null) found.add(direction);
  });
  return (['ingress', 'egress'] as const).filter((d) => found.has(d));
}

function readRules(r: Report, spec: JsonObject, direction: Direction): Rule[] {
  const path = `spec.${direction}`;
  const peersKey = direction === 'ingress' ? 'from' : 'to';
  const otherKey = direction === 'ingress' ? 'to' : 'from';
  const rules: Rule[] = [];
  (readItems(r, spec, direction, path, {}) ?? []).forEach((raw, i) => {
    const rulePath = `${path}[${i}]`;
    if (!isObject(raw)) {
      fail(r, rulePath, `must be an object with "${peersKey}" and/or "ports"`);
      return;
    }
    rejectUnknownFields(r, raw, rulePath, [peersKey, 'ports'], {
      [otherKey]: `${direction} rules name their peers in "${peersKey}"`,
    });
    const peers = (readItems(r, raw, peersKey, `${rulePath}.${peersKey}`, {}) ?? []).map((p, j) =>
      readPeer(r, p, `${rulePath}.${peersKey}[${j}]`),
    );
    const ports = (readItems(r, raw, 'ports', `${rulePath}.ports`, {}) ?? []).map((p, j) =>
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
  if (cidr === undefined || cidr === '') {
    if (own(raw, 'cidr') === undefined || cidr === '') {
      fail(r, `${path}.cidr`, 'Required value: an ipBlock needs a cidr, e.g. "10.0.0.0/8"');
    }
    return undefined;
  }
  const outer = checkCidr(r, cidr, `${path}.cidr`);
  const except: string[] = [];
  (readItems(r, raw, 'except', `${path}.except`, '') ?? []).forEach((e, i) => {
    const ePath = `${path}.except[${i}]`;
    if (typeof e !== 'string') {
      fail(r, ePath, `must be a CIDR string, not ${show(e)}`);
      return;
    }
    const inner = checkCidr(r, e, ePath);
    except.push(inner?.text ?? e);
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
  return { kind: 'ipBlock', cidr: outer?.text ?? cidr, except };
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
