/**
 * v1 Pod → the model's Pod: its IPs (checked as the API server checks
 * `status.podIPs`), phase, node, host networking, named container ports and
 * the timestamps the shared-IP rule reads. A pod we misread is a pod whose
 * policies we enforce at the wrong address, so any error skips it.
 *
 * Pure: no I/O.
 */
import { canonicalIp } from './cidr.js';
import {
  type Conversion,
  type JsonObject,
  type Report,
  PHASES,
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
  readBoolean,
  show,
  errorMessage,
} from './k8s-read.js';
import { describeObject, readMetadata } from './metadata-from-k8s.js';
import type { ContainerPort, Pod } from './model.js';
import { checkPortName, checkPortNumber, readProtocol } from './values-from-k8s.js';

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
