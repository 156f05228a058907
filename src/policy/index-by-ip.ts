/**
 * The oracle asks about addresses, the way the kernel sees traffic, so it must
 * turn an address back into what it is: an enforceable pod, one of a node's
 * own addresses, or nothing known. This index answers that in constant time,
 * so that a matrix of N² questions costs one pass over the cluster, not N².
 * It is built from the Cluster alone and holds no state beyond it.
 */
import { parseIp } from './cidr.js';
import type { Address } from './cidr.js';
import { isEnforceable, NAMESPACE_NAME_LABEL } from './model.js';
import type { Cluster, Labels, Pod } from './model.js';
import { compareIpClaims } from './shared-ips.js';

/** Lookups the oracle needs, by address. */
export interface AddressIndex {
  /**
   * The enforceable pod that has `addr` among its IPs — of several, the one
   * the address is enforced for (see shared-ips.ts) — or null.
   */
  readonly podAt: (addr: Address) => Pod | null;
  /** Every enforceable pod that has `addr` among its IPs, `podAt`'s first. */
  readonly claimantsAt: (addr: Address) => readonly Pod[];
  /** True when `addr` is one of the addresses of node `nodeName`. */
  readonly isNodeAddress: (nodeName: string, addr: Address) => boolean;
  /**
   * The labels of namespace `name`. A namespace missing from the snapshot
   * still carries `kubernetes.io/metadata.name`, as the API server guarantees
   * for every namespace.
   */
  readonly namespaceLabels: (name: string) => Labels;
}

/**
 * Indexes `cluster` by address.
 *
 * - Only enforceable pods (see `isEnforceable`) are indexed: a hostNetwork,
 *   terminal or IP-less pod's address resolves to no pod.
 * - Several enforceable pods claiming one IP resolve to the one the IP is
 *   enforced for: not terminating, then newest, then first by name.
 *
 * @throws CidrError when a pod or node address is not a valid IP.
 */
export function indexByIp(cluster: Cluster): AddressIndex {
  const pods = new Map<string, Pod[]>();
  for (const pod of cluster.pods) {
    if (!isEnforceable(pod)) continue;
    for (const ip of pod.ips) {
      const key = keyOf(parseIp(ip));
      const list = pods.get(key);
      if (list === undefined) pods.set(key, [pod]);
      else if (!list.includes(pod)) list.push(pod);
    }
  }
  for (const list of pods.values()) if (list.length > 1) list.sort(compareIpClaims);
  const nodes = new Map<string, Set<string>>();
  for (const node of cluster.nodes) {
    const keys = nodes.get(node.name) ?? new Set<string>();
    for (const a of node.addresses) keys.add(keyOf(parseIp(a)));
    nodes.set(node.name, keys);
  }
  const namespaces = new Map<string, Labels>(cluster.namespaces.map((n) => [n.name, n.labels]));
  return {
    podAt: (addr) => pods.get(keyOf(addr))?.[0] ?? null,
    claimantsAt: (addr) => pods.get(keyOf(addr)) ?? [],
    isNodeAddress: (nodeName, addr) => nodes.get(nodeName)?.has(keyOf(addr)) ?? false,
    namespaceLabels: (name) => namespaces.get(name) ?? { [NAMESPACE_NAME_LABEL]: name },
  };
}

function keyOf(addr: Address): string {
  return `${addr.family}/${addr.value.toString(16)}`;
}
