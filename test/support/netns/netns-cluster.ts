/**
 * A Kubernetes cluster's network, on one machine, in network namespaces:
 *
 *   underlay netns (bridge br0) ── veth ── node netns (ul: the Node's InternalIPs, forwarding on)
 *                                           ├─ veth p<j> ── pod netns (eth0: the pod's IPs)
 *                                           └─ routes: other nodes' pod IPs (or pod CIDRs) via their InternalIP
 *
 * Each pod's node side carries 169.254.1.1 and fe80::1 (the same on every
 * veth) with a /32 and /128 host route per pod IP; each pod has a default route
 * via those link-local next hops. IPv6 DAD is off, so addresses work at once.
 * Every namespace runs one agent (agent.ts): the pod's or host's servers and
 * the probe client. Namespaces are reused across test cases: `sync` adds what
 * a new Cluster needs and keeps the rest; addresses only live inside the
 * namespaces and never leave the machine.
 */
import { applyScript } from '../../../src/nft/apply.js';
import { isEnforceable, qualifiedName } from '../../../src/policy/model.js';
import type { Cluster, Pod } from '../../../src/policy/model.js';
import { Agent } from './agent-client.js';
import { runCommand } from './command.js';
import {
  deleteNetnsQuietly,
  netnsName,
  registerCleanup,
  removeStaleNamespaces,
} from './lifecycle.js';

/** Ports every pod and host answers on, TCP and UDP, besides its container ports. */
export const DEFAULT_PORTS: readonly number[] = [80, 81];
/** The node-side next hops every pod routes through. */
const GATEWAY4 = '169.254.1.1';
const GATEWAY6 = 'fe80::1';
/** Underlay prefix lengths for the nodes' InternalIPs. */
const UNDERLAY_PREFIX = { 4: 16, 6: 64 } as const;

/** A node of the netns cluster. */
export interface NetnsNode {
  readonly name: string;
  readonly netns: string;
  /** InternalIPs, on the `ul` interface. */
  readonly addresses: readonly string[];
  readonly agent: Agent;
}

/** A pod slot: a namespace with fixed IPs on a node; the Cluster's pod with those IPs uses it. */
export interface NetnsPod {
  readonly netns: string;
  readonly node: string;
  readonly ips: readonly string[];
  readonly agent: Agent;
  /** Ports its agent listens on (TCP and UDP). */
  readonly ports: ReadonlySet<number>;
}

const isV6 = (ip: string): boolean => ip.includes(':');
const hostPrefix = (ip: string): string => `${ip}/${isV6(ip) ? 128 : 32}`;

/** The key of a pod slot: its node and sorted IPs. */
function slotKey(node: string, ips: readonly string[]): string {
  return `${node}|${[...ips].sort().join(',')}`;
}

/** Run `ip …` in `netns` (`ip -n`). */
function ipIn(netns: string, ...args: string[]): Promise<string> {
  return runCommand(['ip', '-n', netns, ...args]);
}

async function addNetns(netns: string, sysctls: readonly string[]): Promise<() => void> {
  await runCommand(['ip', 'netns', 'add', netns]);
  const unregister = registerCleanup(() => {
    deleteNetnsQuietly(netns);
  });
  await runCommand([
    'ip', 'netns', 'exec', netns, 'sysctl', '-qw',
    'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0',
    'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0',
    ...sysctls,
  ]); // prettier-ignore
  await ipIn(netns, 'link', 'set', 'lo', 'up');
  return unregister;
}

/** A cluster of network namespaces on this machine; create with {@link NetnsCluster.create}. */
export class NetnsCluster {
  private readonly underlay: string;
  private readonly nodesByName = new Map<string, NetnsNode>();
  private readonly podsBySlot = new Map<string, NetnsPod & { ports: Set<number> }>();
  private readonly unregisters: (() => void)[] = [];
  private podCount = 0;

  private constructor(underlay: string) {
    this.underlay = underlay;
  }

  /**
   * Create the underlay (after deleting namespaces that crashed earlier runs
   * left behind); add nodes and pods with {@link sync}.
   */
  static async create(): Promise<NetnsCluster> {
    removeStaleNamespaces();
    const underlay = netnsName('u');
    const unregister = await addNetns(underlay, []);
    const nc = new NetnsCluster(underlay);
    nc.unregisters.push(unregister);
    await ipIn(underlay, 'link', 'add', 'br0', 'type', 'bridge');
    await ipIn(underlay, 'link', 'set', 'br0', 'up');
    return nc;
  }

  /** The nodes created so far. */
  get nodes(): readonly NetnsNode[] {
    return [...this.nodesByName.values()];
  }

  /** The pod slots created so far. */
  get pods(): readonly NetnsPod[] {
    return [...this.podsBySlot.values()];
  }

  /** The node named `name`. @throws Error when there is none. */
  node(name: string): NetnsNode {
    const n = this.nodesByName.get(name);
    if (!n) throw new Error(`no netns node ${name}`);
    return n;
  }

  /** The slot that holds `pod`'s IPs, or undefined. */
  slotOf(pod: Pod): NetnsPod | undefined {
    return this.podsBySlot.get(slotKey(pod.nodeName, pod.ips));
  }

  /**
   * Make the namespaces match `cluster`: every node (by name, with its
   * InternalIPs) and every enforceable, scheduled pod (by node and IPs) gets a
   * namespace with routes and a listening agent on 80, 81 and its container
   * ports. Existing ones are reused; nothing is removed.
   * @throws Error when a node has no InternalIP, its addresses changed, or a
   *   pod's IPs overlap a slot with other IPs or on another node.
   */
  async sync(cluster: Cluster): Promise<void> {
    for (const n of cluster.nodes) {
      const existing = this.nodesByName.get(n.name);
      if (existing) {
        if (slotKey('', existing.addresses) !== slotKey('', n.addresses))
          throw new Error(`node ${n.name}: addresses changed; build a new NetnsCluster`);
        continue;
      }
      if (n.addresses.length === 0)
        throw new Error(`node ${n.name}: the dataplane needs its InternalIP`);
      await this.addNode(n.name, n.addresses);
    }
    const taken = new Map<string, string>();
    for (const slot of this.podsBySlot.values())
      for (const ip of slot.ips) taken.set(ip, slotKey(slot.node, slot.ips));
    const wanted = cluster.pods.filter((p) => isEnforceable(p) && p.nodeName !== '');
    const keys = wanted.map((p) => slotKey(p.nodeName, p.ips));
    const dup = keys.find((k, i) => keys.indexOf(k) !== i);
    if (dup !== undefined) throw new Error(`two pods share the IPs of slot ${dup}`);
    await Promise.all(
      wanted.map(async (p) => {
        const key = slotKey(p.nodeName, p.ips);
        for (const ip of p.ips) {
          const other = taken.get(ip);
          if (other !== undefined && other !== key)
            throw new Error(`pod ${qualifiedName(p)}: ${ip} is already slot ${other}`);
          taken.set(ip, key);
        }
        if (!this.nodesByName.has(p.nodeName))
          throw new Error(`pod ${qualifiedName(p)}: unknown node ${p.nodeName}`);
        let slot = this.podsBySlot.get(key);
        if (!slot) slot = await this.addPod(p.nodeName, p.ips);
        const ports = p.ports.map((c) => c.containerPort).filter((port) => !slot.ports.has(port));
        await slot.agent.listen(ports);
        for (const port of ports) slot.ports.add(port);
      }),
    );
  }

  private async addNode(name: string, addresses: readonly string[]): Promise<void> {
    const index = this.nodesByName.size + 1;
    const netns = netnsName(`n${index}`);
    this.unregisters.push(
      await addNetns(netns, ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']),
    );
    await ipIn(
      this.underlay,
      'link',
      'add',
      `n${index}`,
      'type',
      'veth',
      'peer',
      'name',
      'ul',
      'netns',
      netns,
    );
    await ipIn(this.underlay, 'link', 'set', `n${index}`, 'master', 'br0', 'up');
    for (const a of addresses)
      await ipIn(
        netns,
        'addr',
        'add',
        `${a}/${UNDERLAY_PREFIX[isV6(a) ? 6 : 4]}`,
        'dev',
        'ul',
        'nodad',
      );
    await ipIn(netns, 'link', 'set', 'ul', 'up');
    // Pods of nodes created earlier are reachable via those nodes.
    for (const slot of this.podsBySlot.values()) await this.routeVia(netns, addresses, slot);
    const agent = await Agent.start(netns, `host-${name}`, DEFAULT_PORTS);
    this.nodesByName.set(name, { name, netns, addresses, agent });
  }

  private async addPod(
    nodeName: string,
    ips: readonly string[],
  ): Promise<NetnsPod & { ports: Set<number> }> {
    const node = this.node(nodeName);
    const index = ++this.podCount;
    const netns = netnsName(`p${index}`);
    const hostIf = `p${index}`;
    this.unregisters.push(await addNetns(netns, []));
    await ipIn(
      node.netns,
      'link',
      'add',
      hostIf,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      netns,
    );
    await ipIn(node.netns, 'addr', 'add', `${GATEWAY4}/32`, 'dev', hostIf, 'scope', 'link');
    await ipIn(node.netns, 'addr', 'add', `${GATEWAY6}/64`, 'dev', hostIf, 'nodad');
    await ipIn(node.netns, 'link', 'set', hostIf, 'up');
    for (const ip of ips) await ipIn(netns, 'addr', 'add', hostPrefix(ip), 'dev', 'eth0', 'nodad');
    await ipIn(netns, 'link', 'set', 'eth0', 'up');
    if (ips.some((ip) => !isV6(ip))) {
      await ipIn(netns, 'route', 'add', GATEWAY4, 'dev', 'eth0', 'scope', 'link');
      await ipIn(netns, 'route', 'add', 'default', 'via', GATEWAY4, 'dev', 'eth0');
    }
    if (ips.some(isV6))
      await ipIn(netns, '-6', 'route', 'add', 'default', 'via', GATEWAY6, 'dev', 'eth0');
    // The node's InternalIP as the source of what the host sends to the pod,
    // not 169.254.1.1: a host's UDP answer must come from the address asked.
    for (const ip of ips) {
      const src = node.addresses.find((a) => isV6(a) === isV6(ip));
      await ipIn(
        node.netns,
        'route',
        'add',
        hostPrefix(ip),
        'dev',
        hostIf,
        ...(src ? ['src', src] : []),
      );
    }
    const slot = {
      netns,
      node: nodeName,
      ips,
      ports: new Set(DEFAULT_PORTS),
      agent: await Agent.start(netns, netns, DEFAULT_PORTS),
    };
    this.podsBySlot.set(slotKey(nodeName, ips), slot);
    for (const other of this.nodesByName.values())
      if (other.name !== nodeName) await this.routeVia(other.netns, other.addresses, slot);
    return slot;
  }

  /**
   * In `netns` (a node with InternalIPs `own`), route `slot`'s IPs via its
   * node's InternalIP of the same family. A single-stack node gets no route
   * for the other family: it has no address to reach it from.
   */
  private async routeVia(netns: string, own: readonly string[], slot: NetnsPod): Promise<void> {
    const via = this.node(slot.node).addresses;
    for (const ip of slot.ips) {
      if (!own.some((a) => isV6(a) === isV6(ip))) continue;
      const gw = via.find((a) => isV6(a) === isV6(ip));
      if (gw === undefined)
        throw new Error(`node ${slot.node} has no InternalIP of ${ip}'s family`);
      await ipIn(netns, 'route', 'add', hostPrefix(ip), 'via', gw);
    }
  }

  /** Load an nft script in `nodeName`'s namespace (`nft -f -`, one transaction). */
  async applyScript(nodeName: string, script: string): Promise<void> {
    await applyScript(script, {
      command: ['ip', 'netns', 'exec', this.node(nodeName).netns, 'nft'],
    });
  }

  /** Remove every ruleset from every node (`nft flush ruleset`). */
  async flushRulesets(): Promise<void> {
    await Promise.all(
      this.nodes.map((n) =>
        runCommand(['ip', 'netns', 'exec', n.netns, 'nft', 'flush', 'ruleset']),
      ),
    );
  }

  /** Stop every agent and delete every namespace (and with them every link). */
  async destroy(): Promise<void> {
    await Promise.all([...this.nodes, ...this.pods].map((x) => x.agent.stop()));
    const names = [
      ...this.pods.map((p) => p.netns),
      ...this.nodes.map((n) => n.netns),
      this.underlay,
    ];
    for (const netns of names)
      await runCommand(['ip', 'netns', 'delete', netns]).catch(() => undefined);
    for (const u of this.unregisters) u();
    this.nodesByName.clear();
    this.podsBySlot.clear();
  }
}
