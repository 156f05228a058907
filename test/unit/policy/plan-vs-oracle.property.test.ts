/**
 * translate against the oracle on random clusters: for every generated
 * cluster, policy set and connection, the plans of all nodes — evaluated
 * packet by packet as the rendered ruleset would — must allow exactly what
 * explainConnection allows. Table tests pin the cases we thought of; this
 * finds the ones we did not (overlapping blocks, named ports resolving
 * differently per pod, families, terminal pods reusing IPs, live pods sharing
 * an IP — terminating or not, older or newer — and ClusterNetworkPolicies of
 * both tiers with clashing priorities, every action, networks peers, named
 * ports and rules that fail closed).
 *
 * Runs: NFTPOL_PROPERTY_RUNS (default 200); seed: NFTPOL_PROPERTY_SEED.
 * On failure fast-check prints the seed, the path and the shrunk cluster.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { explainConnection } from '../../../src/policy/explain.js';
import { isEnforceable } from '../../../src/policy/model.js';
import type {
  Cluster,
  ClusterAction,
  ClusterPeer,
  ClusterPolicy,
  ClusterPort,
  ClusterRule,
  Tier,
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
  SelectorRequirement,
} from '../../../src/policy/model.js';
import { parseCidr, parseIp, rangeContains } from '../../../src/policy/cidr.js';
import type { FirewallPlan } from '../../../src/policy/plan.js';
import { translateNode, translatorFor } from '../../../src/policy/translate.js';
import type { Connection } from '../../../src/policy/verdict.js';
import {
  cluster,
  clusterNamedPort,
  clusterNetworks,
  clusterPods,
  clusterPolicy,
  clusterPort,
  clusterRule,
  named,
  ns,
  node,
  pod,
  port,
  sel,
} from '../../support/builders.js';
import { evaluatePlans } from '../../support/plan-eval.js';

const RUNS = Number(process.env['NFTPOL_PROPERTY_RUNS'] ?? 200);
const SEED = Number(process.env['NFTPOL_PROPERTY_SEED'] ?? 424242);

type Stack = 'v4' | 'v6' | 'dual';

// Small address pools, so that ipBlocks, excepts and pod IPs keep hitting each other.
const v4 = (i: number): string => `10.0.0.${i}`;
const v6 = (i: number): string => `fd00::${i.toString(16)}`;
const POOL_SIZE = 14;
const NODE_V4 = (i: number): string => `192.168.0.${i + 1}`;
const NODE_V6 = (i: number): string => `fd00:ff::${i + 1}`;
const EXTERNAL_V4 = ['10.0.0.15', '8.8.8.8'];
const EXTERNAL_V6 = ['fd00::f', '2001:db8::1'];
const CIDRS = [
  '10.0.0.0/28',
  '10.0.0.0/29',
  '10.0.0.8/29',
  '10.0.0.4/30',
  '10.0.0.2/31',
  '10.0.0.5/32',
  '10.0.0.0/24',
  '0.0.0.0/0',
  '192.168.0.0/30',
  '8.8.8.8/32',
  'fd00::/124',
  'fd00::/125',
  'fd00::8/125',
  'fd00::4/126',
  'fd00::2/127',
  'fd00::5/128',
  'fd00::/120',
  '::/0',
  'fd00:ff::/126',
  '2001:db8::/32',
];
/** Which of CIDRS lie strictly inside which: the only legal `except` entries. */
const EXCEPTS: Readonly<Record<string, readonly string[]>> = {
  '10.0.0.0/28': ['10.0.0.0/29', '10.0.0.8/29', '10.0.0.4/30', '10.0.0.2/31', '10.0.0.5/32'],
  '10.0.0.0/29': ['10.0.0.4/30', '10.0.0.2/31', '10.0.0.5/32'],
  '10.0.0.4/30': ['10.0.0.5/32'],
  '10.0.0.0/24': ['10.0.0.0/28', '10.0.0.8/29', '10.0.0.2/31', '10.0.0.5/32'],
  '0.0.0.0/0': ['10.0.0.0/29', '10.0.0.5/32', '192.168.0.0/30', '8.8.8.8/32'],
  'fd00::/124': ['fd00::/125', 'fd00::8/125', 'fd00::4/126', 'fd00::2/127', 'fd00::5/128'],
  'fd00::/125': ['fd00::4/126', 'fd00::2/127', 'fd00::5/128'],
  'fd00::4/126': ['fd00::5/128'],
  'fd00::/120': ['fd00::/124', 'fd00::8/125', 'fd00::2/127', 'fd00::5/128'],
  '::/0': ['fd00::/125', 'fd00::5/128', 'fd00:ff::/126', '2001:db8::/32'],
};
const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];
const PORTS = [53, 80, 85, 443, 8080, 9090, 9091];
/** Each name maps to different numbers (and protocols) on different pods. */
const NAMED_PORTS: Readonly<Record<string, readonly ContainerPort[]>> = {
  http: [named('http', 80), named('http', 8080)],
  dns: [named('dns', 53, 'UDP'), named('dns', 53, 'TCP'), named('dns', 5353, 'UDP')],
  metrics: [named('metrics', 9090), named('metrics', 9091, 'SCTP')],
};
const POD_LABELS: Readonly<Record<string, readonly string[]>> = {
  app: ['web', 'db', 'api'],
  tier: ['fe', 'be'],
};
const NS_LABELS: Readonly<Record<string, readonly string[]>> = {
  team: ['x', 'y'],
  env: ['prod', 'dev'],
};
const NS_NAMES = ['a', 'b', 'c'];

function labelsArb(vocabulary: Readonly<Record<string, readonly string[]>>): fc.Arbitrary<Labels> {
  const entries = Object.entries(vocabulary).map(([key, values]) =>
    fc.option(fc.constantFrom(...values), { nil: undefined }).map((v) => [key, v] as const),
  );
  return fc.tuple(...entries).map((pairs) => {
    const labels: Record<string, string> = {};
    for (const [k, v] of pairs) if (v !== undefined) labels[k] = v;
    return labels;
  });
}

function selectorArb(
  vocabulary: Readonly<Record<string, readonly string[]>>,
): fc.Arbitrary<LabelSelector> {
  const keys = Object.keys(vocabulary);
  const requirement: fc.Arbitrary<SelectorRequirement> = fc
    .tuple(fc.constantFrom(...keys), fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist'))
    .chain(([key, operator]): fc.Arbitrary<SelectorRequirement> =>
      operator === 'In' || operator === 'NotIn'
        ? fc
            .subarray([...(vocabulary[key] ?? [])], { minLength: 1 })
            .map((values) => ({ key, operator, values }))
        : fc.constant({ key, operator, values: [] as string[] }),
    );
  const matchLabels = fc.oneof(
    { weight: 2, arbitrary: fc.constant({}) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(...keys)
        .chain((key) =>
          fc.constantFrom(...(vocabulary[key] ?? [])).map((value): Labels => ({ [key]: value })),
        ),
    },
  );
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(sel()) },
    {
      weight: 2,
      arbitrary: fc.record({
        matchLabels,
        matchExpressions: fc.array(requirement, { maxLength: 2 }),
      }),
    },
  );
}

const NS_SELECTOR_VOCABULARY = { ...NS_LABELS, 'kubernetes.io/metadata.name': NS_NAMES };

const peerArb: fc.Arbitrary<Peer> = fc.oneof(
  selectorArb(POD_LABELS).map((podSelector): Peer => ({
    kind: 'pods',
    namespaceSelector: null,
    podSelector,
  })),
  fc
    .tuple(selectorArb(NS_SELECTOR_VOCABULARY), selectorArb(POD_LABELS))
    .map(([namespaceSelector, podSelector]): Peer => ({
      kind: 'pods',
      namespaceSelector,
      podSelector,
    })),
  fc.constantFrom(...CIDRS).chain((cidr) =>
    fc
      .subarray([...(EXCEPTS[cidr] ?? [])], {
        maxLength: Math.min(2, EXCEPTS[cidr]?.length ?? 0),
      })
      .map((except): Peer => ({ kind: 'ipBlock', cidr, except })),
  ),
);

const portSpecArb: fc.Arbitrary<PortSpec> = fc
  .tuple(
    fc.constantFrom<Protocol>('TCP', 'TCP', 'UDP', 'SCTP'),
    fc.oneof(
      fc.constant<number | string | undefined>(undefined),
      fc.constantFrom<number | string | undefined>(...PORTS),
      fc.constantFrom<number | string | undefined>('http', 'http', 'dns', 'metrics', 'missing'),
      fc.constant<number | string | undefined>('range'),
    ),
  )
  .map(([protocol, p]) => {
    if (p === 'range') return port(80, protocol, 90);
    return port(p, protocol);
  });

const ruleArb: fc.Arbitrary<Rule> = fc.record({
  peers: fc.option(fc.array(peerArb, { minLength: 1, maxLength: 3 }), { nil: null, freq: 4 }),
  ports: fc.option(fc.array(portSpecArb, { minLength: 1, maxLength: 3 }), { nil: null, freq: 3 }),
});

const POLICY_TYPES: readonly (readonly Direction[])[] = [
  ['ingress'],
  ['egress'],
  ['ingress', 'egress'],
];

function policyArb(i: number, namespaces: readonly string[]): fc.Arbitrary<Policy> {
  return fc
    .record({
      namespace: fc.constantFrom(...namespaces),
      podSelector: selectorArb(POD_LABELS),
      policyTypes: fc.constantFrom(...POLICY_TYPES),
      ingress: fc.array(ruleArb, { maxLength: 3 }),
      egress: fc.array(ruleArb, { maxLength: 3 }),
    })
    .map((p) => ({ ...p, name: `pol${i}` }));
}

// --- ClusterNetworkPolicies: both tiers, clashing priorities, every action ---

const clusterPortArb: fc.Arbitrary<ClusterPort> = fc.oneof(
  fc
    .tuple(fc.constantFrom<Protocol>('TCP', 'TCP', 'UDP', 'SCTP'), fc.constantFrom(...PORTS))
    .map(([protocol, p]) => clusterPort(p, protocol)),
  fc.constantFrom<Protocol>('TCP', 'UDP').map((protocol) => clusterPort(80, protocol, 90)),
  fc.constantFrom('http', 'dns', 'metrics', 'missing').map(clusterNamedPort),
);

const clusterPodsPeerArb: fc.Arbitrary<ClusterPeer> = fc
  .tuple(selectorArb(NS_SELECTOR_VOCABULARY), selectorArb(POD_LABELS))
  .map(([namespaceSelector, podSelector]) => clusterPods(namespaceSelector, podSelector));

function clusterRuleArb(direction: Direction): fc.Arbitrary<ClusterRule> {
  const peer =
    direction === 'ingress'
      ? clusterPodsPeerArb
      : fc.oneof(
          { weight: 3, arbitrary: clusterPodsPeerArb },
          {
            weight: 1,
            arbitrary: fc
              .subarray([...CIDRS], { minLength: 1, maxLength: 2 })
              .map((cidrs) => clusterNetworks(...cidrs)),
          },
        );
  return fc
    .record({
      action: fc.constantFrom<ClusterAction>('Accept', 'Deny', 'Pass'),
      peers: fc.array(peer, { minLength: 1, maxLength: 2 }),
      ports: fc.option(fc.array(clusterPortArb, { minLength: 1, maxLength: 2 }), {
        nil: null,
        freq: 3,
      }),
      failClosed: fc.constantFrom<string | null>(
        null,
        null,
        null,
        null,
        null,
        'peer 0: nodes is not supported',
      ),
      name: fc.constantFrom('', 'r'),
    })
    .map((r) => {
      // A named port beside a networks peer is invalid (the loader refuses it).
      const networks = r.peers.some((p) => p.kind === 'networks');
      const ports =
        networks && r.ports !== null ? r.ports.filter((p) => p.kind === 'port') : r.ports;
      return clusterRule(r.action, r.peers, ports === null || ports.length > 0 ? ports : null, {
        name: r.name,
        failClosed: r.failClosed,
      });
    });
}

function clusterPolicyArb(i: number): fc.Arbitrary<ClusterPolicy> {
  return fc
    .record({
      tier: fc.constantFrom<Tier>('Admin', 'Baseline'),
      priority: fc.constantFrom(0, 1, 1, 2),
      namespaceSelector: selectorArb(NS_SELECTOR_VOCABULARY),
      podSelector: selectorArb(POD_LABELS),
      ingress: fc.array(clusterRuleArb('ingress'), { maxLength: 3 }),
      egress: fc.array(clusterRuleArb('egress'), { maxLength: 3 }),
    })
    .map((r) =>
      clusterPolicy(`cnp${i}`, {
        tier: r.tier,
        priority: r.priority,
        subject: { namespaceSelector: r.namespaceSelector, podSelector: r.podSelector },
        ingress: r.ingress,
        egress: r.egress,
      }),
    );
}

type PodKind = 'running' | 'pending' | 'hostNetwork' | 'terminal' | 'noIp' | 'twin';

/** Connection endpoints of one family: enforceable pods' IPs, and every address. */
interface Addresses {
  readonly pods: readonly string[];
  readonly all: readonly string[];
}

interface Scenario {
  readonly cluster: Cluster;
  /** Every address a connection may use, by family. */
  readonly addresses: Readonly<Record<'ip' | 'ip6', Addresses>>;
}

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    stack: fc.constantFrom<Stack>('v4', 'v6', 'dual'),
    namespaces: fc.integer({ min: 2, max: 3 }),
    nodes: fc.integer({ min: 2, max: 3 }),
    pods: fc.integer({ min: 3, max: 8 }),
    policies: fc.integer({ min: 1, max: 4 }),
    clusterPolicies: fc.integer({ min: 0, max: 3 }),
  })
  .chain((shape) => {
    const nsNames = NS_NAMES.slice(0, shape.namespaces);
    const nodeNames = Array.from({ length: shape.nodes }, (_, i) => `n${i + 1}`);
    const podArb = fc.record({
      namespace: fc.constantFrom(...nsNames),
      node: fc.nat({ max: shape.nodes - 1 }),
      labels: labelsArb(POD_LABELS),
      kind: fc.constantFrom<PodKind>(
        'running',
        'running',
        'running',
        'running',
        'pending',
        'hostNetwork',
        'terminal',
        'noIp',
        'twin',
      ),
      terminating: fc.boolean(),
      created: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      stack:
        shape.stack === 'dual'
          ? fc.constantFrom<Stack>('v4', 'v6', 'dual', 'dual')
          : fc.constant(shape.stack),
      ports: fc.tuple(
        ...Object.values(NAMED_PORTS).map((choices) =>
          fc.option(fc.constantFrom(...choices), { nil: undefined }),
        ),
      ),
    });
    return fc.record({
      shape: fc.constant({ ...shape, nsNames, nodeNames }),
      namespaces: fc.tuple(...nsNames.map(() => labelsArb(NS_LABELS))),
      pods: fc.array(podArb, { minLength: shape.pods, maxLength: shape.pods }),
      ipSlots: fc.shuffledSubarray(
        Array.from({ length: POOL_SIZE }, (_, i) => i + 1),
        { minLength: shape.pods, maxLength: shape.pods },
      ),
      policies: fc.tuple(
        ...Array.from({ length: shape.policies }, (_, i) => policyArb(i, nsNames)),
      ),
      clusterPolicies: fc.tuple(
        ...Array.from({ length: shape.clusterPolicies }, (_, i) => clusterPolicyArb(i)),
      ),
    });
  })
  .map(({ shape, namespaces, pods, ipSlots, policies, clusterPolicies }): Scenario => {
    const nodeAddresses = (i: number, stack: Stack): string[] => [
      ...(stack === 'v6' ? [] : [NODE_V4(i)]),
      ...(stack === 'v4' ? [] : [NODE_V6(i)]),
    ];
    const nodes: Node[] = shape.nodeNames.map((name, i) =>
      node(name, { addresses: nodeAddresses(i, shape.stack) }),
    );
    const namespaceList: Namespace[] = shape.nsNames.map((name, i) => ns(name, namespaces[i]));
    const podIps = (slot: number, stack: Stack): string[] => [
      ...(stack === 'v6' ? [] : [v4(slot)]),
      ...(stack === 'v4' ? [] : [v6(slot)]),
    ];
    const podList: Pod[] = pods.map((p, i) => {
      const slot = ipSlots[i] ?? 1;
      let ips = podIps(slot, p.stack);
      let phase: PodPhase = p.kind === 'pending' ? 'Pending' : 'Running';
      if (p.kind === 'hostNetwork') ips = nodeAddresses(p.node, shape.stack);
      if (p.kind === 'noIp') ips = [];
      if (p.kind === 'terminal') {
        // A finished pod whose IPs another pod may already have taken over.
        ips = podIps(ipSlots[0] ?? 1, p.stack);
        phase = i % 2 === 0 ? 'Succeeded' : 'Failed';
      }
      // A live pod claiming another's IPs (a Terminating pod whose IP was reused, a stale status).
      if (p.kind === 'twin') ips = podIps(ipSlots[0] ?? 1, p.stack);
      return pod(`${p.namespace}/p${i}`, p.labels, {
        ...(p.terminating && p.kind !== 'pending' ? { terminating: true } : {}),
        ...(p.created === undefined ? {} : { created: p.created }),
        nodeName: shape.nodeNames[p.node] ?? 'n1',
        ips,
        phase,
        hostNetwork: p.kind === 'hostNetwork',
        ports: p.ports.filter((x): x is ContainerPort => x !== undefined),
      });
    });
    const all = [
      ...podList.flatMap((p) => p.ips),
      ...nodes.flatMap((n) => n.addresses),
      ...(shape.stack === 'v6' ? [] : EXTERNAL_V4),
      ...(shape.stack === 'v4' ? [] : EXTERNAL_V6),
    ];
    const live = podList.filter(
      (p) => !p.hostNetwork && p.phase !== 'Succeeded' && p.phase !== 'Failed',
    );
    const ofFamily = (list: readonly string[], v6only: boolean): string[] =>
      [...new Set(list)].filter((a) => a.includes(':') === v6only);
    const addressesOf = (v6only: boolean): Addresses => ({
      pods: ofFamily(
        live.flatMap((p) => p.ips),
        v6only,
      ),
      all: ofFamily(all, v6only),
    });
    return {
      cluster: { ...cluster(namespaceList, podList, policies, nodes), clusterPolicies },
      addresses: { ip: addressesOf(false), ip6: addressesOf(true) },
    };
  });

interface ProbeInput {
  readonly from: number;
  readonly to: number;
  /** Pick among enforceable pods' IPs rather than every address. */
  readonly fromPod: boolean;
  readonly toPod: boolean;
  /** Use one of the destination's container ports (by index), when it has any. */
  readonly namedPort: number | null;
  readonly v6: boolean;
  readonly protocol: Protocol;
  readonly port: number;
}

const probeArb: fc.Arbitrary<ProbeInput> = fc.record({
  from: fc.nat(),
  to: fc.nat(),
  fromPod: fc.boolean(),
  toPod: fc.boolean(),
  namedPort: fc.option(fc.nat(), { nil: null }),
  v6: fc.boolean(),
  protocol: fc.constantFrom(...PROTOCOLS),
  port: fc.constantFrom(...PORTS, 5353, 90, 91, 1234),
});

function connectionsFor(scenario: Scenario, probes: readonly ProbeInput[]): Connection[] {
  return probes.flatMap((p) => {
    const { ip, ip6 } = scenario.addresses;
    const family = (p.v6 && ip6.all.length > 0) || ip.all.length === 0 ? ip6 : ip;
    const pick = (index: number, pod: boolean): string | undefined => {
      const pool = pod && family.pods.length > 0 ? family.pods : family.all;
      return pool[index % pool.length];
    };
    const from = pick(p.from, p.fromPod);
    const to = pick(p.to, p.toPod);
    if (from === undefined || to === undefined) return [];
    const declared = scenario.cluster.pods.find((x) => x.ips.includes(to))?.ports ?? [];
    const chosen = p.namedPort === null ? undefined : declared[p.namedPort % declared.length];
    return [
      chosen
        ? { from, to, protocol: chosen.protocol, port: chosen.containerPort }
        : { from, to, protocol: p.protocol, port: p.port },
    ];
  });
}

/** Every node's plan from one shared translator, as the controller builds them. */
function plansFor(c: Cluster): Map<string, FirewallPlan> {
  const translate = translatorFor(c);
  return new Map(c.nodes.map((n) => [n.name, translate(n.name)]));
}

describe('translate agrees with the oracle', () => {
  it('every connection the oracle allows the plans allow, and only those', () => {
    fc.assert(
      fc.property(
        scenarioArb,
        fc.array(probeArb, { minLength: 16, maxLength: 32 }),
        (scenario, probes) => {
          const plans = plansFor(scenario.cluster);
          for (const connection of connectionsFor(scenario, probes)) {
            const verdict = explainConnection(scenario.cluster, connection);
            const planned = evaluatePlans(plans, scenario.cluster, connection);
            assert.equal(
              planned,
              verdict.allowed,
              `${connection.from} → ${connection.to} ${connection.protocol}/${connection.port}: ` +
                `plans say ${planned}, oracle says ${verdict.allowed} ` +
                `(egress ${verdict.egress.reason}, ingress ${verdict.ingress.reason})`,
            );
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('fail-closed plans agree too, and drop unknown addresses of a pod CIDR', () => {
    fc.assert(
      fc.property(
        scenarioArb.map(withPodCIDRs),
        fc.array(probeArb, { minLength: 16, maxLength: 32 }),
        (scenario, probes) => {
          const c = scenario.cluster;
          const plans = new Map(
            c.nodes.map((n) => [n.name, translateNode(c, n.name, { failClosed: true })]),
          );
          for (const connection of connectionsFor(scenario, probes)) {
            const expected =
              explainConnection(c, connection).allowed && !isUnknownInPodCIDR(c, connection);
            const planned = evaluatePlans(plans, c, connection);
            assert.equal(
              planned,
              expected,
              `${connection.from} → ${connection.to} ${connection.protocol}/${connection.port}`,
            );
          }
        },
      ),
      { seed: SEED + 3, numRuns: Math.max(20, Math.floor(RUNS / 2)) },
    );
  });

  it('the plan does not depend on the order of the cluster arrays, nor on sharing a translator', () => {
    fc.assert(
      fc.property(scenarioArb, fc.nat(), (scenario, salt) => {
        const c = scenario.cluster;
        const shuffled: Cluster = {
          namespaces: rotate(c.namespaces, salt),
          pods: rotate([...c.pods].reverse(), salt),
          policies: rotate([...c.policies].reverse(), salt + 1),
          nodes: rotate(c.nodes, salt + 2),
          clusterPolicies: rotate([...(c.clusterPolicies ?? [])].reverse(), salt + 3),
        };
        const shared = translatorFor(c);
        for (const n of c.nodes) {
          assert.deepEqual(translateNode(shuffled, n.name), shared(n.name));
        }
      }),
      { seed: SEED + 1, numRuns: Math.max(20, Math.floor(RUNS / 4)) },
    );
  });

  it('every shared set is referenced and sorted; inline ranges and ports are sorted and disjoint', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        for (const plan of plansFor(scenario.cluster).values()) {
          const used = new Set(
            plan.chains.flatMap((c) =>
              [...c.allows, ...(c.admin ?? []), ...(c.baseline ?? [])].flatMap((a) => [
                ...(a.peer.kind === 'set' ? [`${a.peer.set} ${a.family ?? ''}`] : []),
                ...(a.ports.kind === 'namedPort' ? [`${a.ports.set} ${a.family ?? ''}`] : []),
              ]),
            ),
          );
          assert.deepEqual(
            plan.sets.map((s) => `${s.id} ${s.family}`),
            [...used].sort(),
            'sets are exactly those referenced, sorted',
          );
          for (const allow of plan.chains.flatMap((c) => [
            ...c.allows,
            ...(c.admin ?? []),
            ...(c.baseline ?? []),
          ])) {
            const where = `${allow.policy} rule ${allow.rule}`;
            if (allow.peer.kind === 'cidrs') {
              const boxes = allow.peer.ranges.map((r) => ({
                addr: [parseIp(r.first).value, parseIp(r.last).value] as const,
                protocol: '*',
                port: [0, 65535] as const,
              }));
              assertSorted(boxes, where);
              assertDisjoint(boxes, where);
            }
            if (allow.ports.kind === 'ports') {
              const boxes = allow.ports.ports.map((p) => ({
                addr: [0n, 0n] as const,
                protocol: p.protocol,
                port: [p.port.first, p.port.last] as const,
              }));
              assertSorted(boxes, where);
              assertDisjoint(boxes, where);
            }
          }
        }
      }),
      { seed: SEED + 2, numRuns: Math.max(20, Math.floor(RUNS / 4)) },
    );
  });

  it('the plan of a node does not change when remote pods or namespace labels do', () => {
    fc.assert(
      fc.property(scenarioArb, fc.nat(), (scenario, salt) => {
        const c = scenario.cluster;
        for (const n of c.nodes) {
          // Remote pods relabelled, given other ports, or gone; namespaces
          // relabelled unless a ClusterNetworkPolicy's subject may read them.
          const relabel = (c.clusterPolicies ?? []).length === 0;
          const localIps = new Set(
            c.pods.filter((p) => p.nodeName === n.name).flatMap((p) => p.ips),
          );
          const keep = (p: Pod): boolean =>
            p.nodeName === n.name || p.ips.some((ip) => localIps.has(ip));
          const changed: Cluster = {
            ...c,
            namespaces: c.namespaces.map((x) =>
              relabel ? { ...x, labels: { ...x.labels, [`salt${salt % 3}`]: 'x' } } : x,
            ),
            // (A remote pod claiming a local pod's IP is no remote pod: which of
            // them the IP is enforced for is the node's business.)
            pods: c.pods
              .filter((p, i) => keep(p) || (i + salt) % 3 !== 0)
              .map((p) => (keep(p) ? p : { ...p, labels: { other: String(salt % 2) }, ports: [] })),
          };
          assert.deepEqual(translateNode(changed, n.name), translateNode(c, n.name), n.name);
        }
      }),
      { seed: SEED + 4, numRuns: Math.max(20, Math.floor(RUNS / 4)) },
    );
  });
});

/** Per-node pod CIDRs carved from the pools; each pod moves to the node owning its IPs. */
const POD_CIDRS: Readonly<Record<number, readonly (readonly string[])[]>> = {
  2: [
    ['10.0.0.0/29', 'fd00::/125'],
    ['10.0.0.8/29', 'fd00::8/125'],
  ],
  3: [
    ['10.0.0.0/29', 'fd00::/125'],
    ['10.0.0.8/30', 'fd00::8/126'],
    ['10.0.0.12/30', 'fd00::c/126'],
  ],
};

function withPodCIDRs(scenario: Scenario): Scenario {
  const c = scenario.cluster;
  const cidrs = POD_CIDRS[c.nodes.length] ?? [];
  const nodes = c.nodes.map((n, i) => ({ ...n, podCIDRs: cidrs[i] ?? [] }));
  const ownerOf = (ip: string): string | undefined =>
    nodes.find((n) => n.podCIDRs.some((x) => rangeContains(parseCidr(x), parseIp(ip))))?.name;
  const pods = c.pods.map((p) => {
    const owner = p.hostNetwork || p.ips[0] === undefined ? undefined : ownerOf(p.ips[0]);
    return owner === undefined ? p : { ...p, nodeName: owner };
  });
  return { ...scenario, cluster: { ...c, nodes, pods } };
}

/**
 * What fail-closed adds to the oracle: the destination lies in a node's pod
 * CIDRs, is no enforceable pod of that node, and the source is not that node.
 */
function isUnknownInPodCIDR(c: Cluster, connection: Connection): boolean {
  const to = parseIp(connection.to);
  const owner = c.nodes.find((n) => n.podCIDRs.some((x) => rangeContains(parseCidr(x), to)));
  if (!owner) return false;
  const known = c.pods.some(
    (p) => isEnforceable(p) && p.nodeName === owner.name && p.ips.includes(connection.to),
  );
  return !known && !owner.addresses.includes(connection.from);
}

function rotate<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return [];
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** An element as numeric intervals per dimension (absent dimensions cover everything). */
interface Box {
  readonly addr: readonly [bigint, bigint];
  readonly protocol: string;
  readonly port: readonly [number, number];
}

/** Elements come sorted by first address, then protocol, then first port. */
function assertSorted(boxes: readonly Box[], name: string): void {
  for (let i = 1; i < boxes.length; i++) {
    const a = boxes[i - 1] as Box;
    const b = boxes[i] as Box;
    const order =
      a.addr[0] !== b.addr[0]
        ? a.addr[0] < b.addr[0]
        : a.protocol !== b.protocol
          ? a.protocol < b.protocol
          : a.port[0] < b.port[0];
    assert.ok(order, `${name}: elements ${i - 1} and ${i} are out of order`);
  }
}

function assertDisjoint(boxes: readonly Box[], name: string): void {
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i] as Box;
      const b = boxes[j] as Box;
      const overlap =
        a.protocol === b.protocol &&
        a.addr[0] <= b.addr[1] &&
        b.addr[0] <= a.addr[1] &&
        a.port[0] <= b.port[1] &&
        b.port[0] <= a.port[1];
      assert.ok(!overlap, `${name}: elements ${i} and ${j} overlap`);
    }
  }
}
