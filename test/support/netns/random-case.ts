/**
 * Seeded random clusters and policies for the dataplane tier: a fixed set of
 * pod slots (so the namespaces are built once), with random pod names,
 * namespaces, labels, named ports and which slots are used, and random
 * policies over them — selectors of every operator, every peer kind, ipBlocks
 * with except over pod and node IPs, numbered, ranged and named ports — and
 * up to two ClusterNetworkPolicies of either tier, every action, pods and
 * networks peers, rules that fail closed. The same seed gives the same
 * cluster, so a failure replays.
 */
import type {
  ClusterPeer,
  ClusterPolicy,
  ClusterRule,
  Cluster,
  ContainerPort,
  Direction,
  LabelSelector,
  Node,
  Peer,
  Pod,
  Policy,
  PortSpec,
  Protocol,
  Rule,
} from '../../../src/policy/model.js';
import {
  cluster,
  clusterNamedPort,
  clusterNetworks,
  clusterPods,
  clusterPolicy,
  clusterPort,
  clusterRule,
  expr,
  ipBlock,
  named,
  ns,
  nsPeer,
  pod,
  podPeer,
  policy,
  port,
  rule,
  sel,
} from '../builders.js';

/** Where random pods may go: a node and the IPs of one slot. */
export interface Slot {
  readonly nodeName: string;
  readonly ips: readonly string[];
}

/** Ports random named ports resolve to; probe these (besides 80 and 81). */
export const RANDOM_PORTS: readonly number[] = [8080, 8081];

const NS_NAMES = ['a', 'b', 'c'];
const TEAMS = ['red', 'blue'];
const APPS = ['x', 'y', 'z'];
const PORT_NAMES = ['p1', 'p2', 'nosuch'];
const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP'];
/** ipBlocks: [cidr, ...except], over the pod and node ranges of the dataplane topologies. */
const BLOCKS: readonly (readonly string[])[] = [
  ['10.100.0.0/16', '10.100.2.0/24'],
  ['10.100.1.0/24'],
  ['10.100.1.2/31'],
  ['10.99.0.0/24'],
  ['0.0.0.0/0', '10.100.2.3/32'],
  ['fd00:100::/48', 'fd00:100:0:2::/64'],
  ['fd00:100:0:1::/64'],
  ['fd00:99::1/128'],
  ['::/0', 'fd00:100:0:1::3/128'],
];

/**
 * A random cluster on `slots` and `nodes`.
 * Guarantees: every pod sits on a slot (no two on one), so NetnsCluster.sync
 * reuses the namespaces; a few slots stay unused (external addresses).
 */
export function randomCluster(
  rand: () => number,
  nodes: readonly Node[],
  slots: readonly Slot[],
): Cluster {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const chance = (p: number): boolean => rand() < p;
  const upTo = (n: number): number => Math.floor(rand() * (n + 1));

  const namespaces = NS_NAMES.map((n) => ns(n, chance(0.7) ? { team: pick(TEAMS) } : {}));
  const pods: Pod[] = [];
  slots.forEach((slot, i) => {
    if (!chance(0.85)) return;
    const ports: ContainerPort[] = PORT_NAMES.slice(0, 2)
      .filter(() => chance(0.6))
      .map((name) => named(name, pick(RANDOM_PORTS), pick(PROTOCOLS)));
    const labels = { app: pick(APPS), ...(chance(0.5) ? { tier: pick(['1', '2']) } : {}) };
    pods.push(pod(`${pick(NS_NAMES)}/pod${i}`, labels, { ...slot, ports }));
  });

  const selector = (): LabelSelector => {
    switch (upTo(4)) {
      case 0:
        return sel();
      case 1:
        return sel({ app: pick(APPS) });
      case 2:
        return sel({}, expr('app', pick(['In', 'NotIn'] as const), pick(APPS), pick(APPS)));
      case 3:
        return sel({}, expr('tier', pick(['Exists', 'DoesNotExist'] as const)));
      default:
        return sel({}, expr('team', pick(['In', 'NotIn'] as const), pick(TEAMS)));
    }
  };
  const peer = (): Peer => {
    switch (upTo(3)) {
      case 0:
        return podPeer(selector());
      case 1:
        return nsPeer(selector());
      case 2:
        return nsPeer(selector(), selector());
      default: {
        const [cidr, ...except] = pick(BLOCKS);
        return ipBlock(cidr!, ...except);
      }
    }
  };
  const portSpec = (): PortSpec => {
    switch (upTo(3)) {
      case 0:
        return port(pick([80, 81, 8080]), pick(PROTOCOLS));
      case 1:
        return port(80, pick(PROTOCOLS), pick([81, 8080]));
      case 2:
        return port(pick(PORT_NAMES), pick(PROTOCOLS));
      default:
        return port(undefined, pick(PROTOCOLS));
    }
  };
  const rules = (): Rule[] =>
    Array.from({ length: upTo(2) }, () =>
      rule(
        chance(0.25) ? null : Array.from({ length: 1 + upTo(1) }, peer),
        chance(0.35) ? null : Array.from({ length: 1 + upTo(1) }, portSpec),
      ),
    );
  const policies: Policy[] = Array.from({ length: 1 + upTo(3) }, (_, i) => {
    const egress = rules();
    const types: readonly (readonly Direction[] | undefined)[] = [
      undefined,
      ['ingress'],
      ['egress'],
      ['ingress', 'egress'],
    ];
    const policyTypes = pick(types);
    return policy(`${pick(NS_NAMES)}/pol${i}`, {
      podSelector: selector(),
      ingress: rules(),
      egress,
      ...(policyTypes ? { policyTypes } : {}),
    });
  });
  // ClusterNetworkPolicies last, so the draws above stay what they were.
  const nsSelector = (): LabelSelector =>
    chance(0.5)
      ? sel({ team: pick(TEAMS) })
      : sel({ 'kubernetes.io/metadata.name': pick(NS_NAMES) });
  const clusterPeer = (direction: Direction): ClusterPeer =>
    direction === 'egress' && chance(0.25)
      ? clusterNetworks(pick(BLOCKS)[0]!)
      : clusterPods(chance(0.3) ? sel() : nsSelector(), chance(0.4) ? sel() : selector());
  const clusterRules = (direction: Direction): ClusterRule[] =>
    Array.from({ length: upTo(2) }, () => {
      const peers = Array.from({ length: 1 + upTo(1) }, () => clusterPeer(direction));
      const networks = peers.some((x) => x.kind === 'networks');
      const ports = chance(0.4)
        ? null
        : [
            networks || chance(0.7)
              ? clusterPort(pick([80, 81, 8080]), pick(PROTOCOLS))
              : clusterNamedPort(pick(PORT_NAMES)),
          ];
      return clusterRule(pick(['Accept', 'Deny', 'Pass'] as const), peers, ports, {
        failClosed: chance(0.1) ? 'peer 0: nodes peers are not supported' : null,
      });
    });
  const clusterPolicies: ClusterPolicy[] = Array.from({ length: upTo(2) }, (_, i) =>
    clusterPolicy(`cnp${i}`, {
      tier: chance(0.5) ? 'Admin' : 'Baseline',
      priority: pick([0, 1, 1]),
      subject: { namespaceSelector: chance(0.4) ? sel() : nsSelector(), podSelector: selector() },
      ingress: clusterRules('ingress'),
      egress: clusterRules('egress'),
    }),
  );
  return { ...cluster(namespaces, pods, policies, nodes), clusterPolicies };
}
