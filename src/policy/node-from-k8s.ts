/**
 * v1 Node → the model's Node: its pod CIDRs (what fail-closed guards) and
 * its InternalIP addresses (where pod traffic to the node goes).
 *
 * Pure: no I/O.
 */
import { canonicalIp } from './cidr.js';
import {
  type Conversion,
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
  show,
  errorMessage,
} from './k8s-read.js';
import { describeObject, readMetadata } from './metadata-from-k8s.js';
import type { Node } from './model.js';
import { checkCidr } from './values-from-k8s.js';

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
