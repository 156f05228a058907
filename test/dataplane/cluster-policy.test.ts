/**
 * ClusterNetworkPolicy tiers on the real kernel: the cluster of the
 * NetworkPolicy semantics suite (two dual-stack nodes, six pods in three
 * namespaces) with Admin and Baseline policies beside NetworkPolicies. Each
 * case renders every node's script, loads it with nft, probes every pair
 * (TCP and UDP, IPv4 and IPv6, pods and hosts) and compares every verdict
 * with the oracle, which evaluates the tiers from the API text; its spots pin
 * the point of the case on the kernel's own answers.
 */
import { after, before, describe, it } from 'node:test';
import type { ClusterPolicy, Cluster, Policy, Pod } from '../../src/policy/model.js';
import {
  cluster,
  clusterNamedPort,
  clusterNamespaces,
  clusterNetworks,
  clusterPods,
  clusterPolicy,
  clusterPort,
  clusterRule,
  named,
  node,
  ns,
  pod,
  policy,
  rule,
  sel,
} from '../support/builders.js';
import { enforceAndProbe } from '../support/netns/enforce.js';
import { dataplaneSkipReason } from '../support/netns/lifecycle.js';
import { NetnsCluster } from '../support/netns/netns-cluster.js';
import { summarizeReport } from '../support/netns/probe.js';
import { assertSpots, type Spot } from '../support/netns/spots.js';

const skip = dataplaneSkipReason();

const NODES = [
  node('n1', {
    addresses: ['10.99.0.1', 'fd00:99::1'],
    podCIDRs: ['10.100.1.0/24', 'fd00:100:0:1::/64'],
  }),
  node('n2', {
    addresses: ['10.99.0.2', 'fd00:99::2'],
    podCIDRs: ['10.100.2.0/24', 'fd00:100:0:2::/64'],
  }),
];
const NAMESPACES = [ns('a', { team: 'red' }), ns('b', { team: 'blue' }), ns('c')];
const slot = (n: number, h: number): Partial<Pod> => ({
  nodeName: `n${n}`,
  ips: [`10.100.${n}.${h}`, `fd00:100:0:${n}::${h}`],
});
const CAST: readonly Pod[] = [
  pod('a/client', { app: 'client' }, slot(1, 2)),
  pod('a/web', { app: 'web' }, { ...slot(1, 3), ports: [named('http', 8080)] }),
  pod('b/other', { app: 'client' }, slot(1, 4)),
  pod('a/web2', { app: 'web' }, { ...slot(2, 2), ports: [named('http', 8081)] }),
  pod('b/db', { app: 'db' }, slot(2, 3)),
  pod('c/tool', { app: 'tool' }, slot(2, 4)),
];

const world = (policies: readonly Policy[], cnps: readonly ClusterPolicy[]): Cluster => ({
  ...cluster(NAMESPACES, CAST, policies, NODES),
  clusterPolicies: cnps,
});

const inNamespace = (name: string) => sel({ 'kubernetes.io/metadata.name': name });
const webs = { namespaceSelector: sel(), podSelector: sel({ app: 'web' }) };
const everyone = clusterNamespaces();

interface Case {
  readonly name: string;
  readonly cluster: Cluster;
  readonly spots: readonly Spot[];
  readonly extraPorts?: readonly number[];
}

const CASES: readonly Case[] = [
  {
    name: 'an Admin Deny overrides a NetworkPolicy that allows everything',
    cluster: world(
      [policy('a/allow-all', { podSelector: sel({ app: 'web' }), ingress: [rule()] })],
      [
        clusterPolicy('no-blue-to-web', {
          subject: webs,
          ingress: [clusterRule('Deny', [clusterNamespaces(sel({ team: 'blue' }))])],
        }),
      ],
    ),
    spots: [
      ['b/db', 'a/web', '80/TCP', false],
      ['b/other', 'a/web2', '81/UDP', false],
      ['a/client', 'a/web', '80/TCP', true],
      ['c/tool', 'a/web2', '80/TCP', true],
    ],
  },
  {
    name: 'an Admin Accept skips NetworkPolicy isolation; what it does not match meets the NetworkPolicy',
    cluster: world(
      [policy('a/deny-all', { ingress: [] })],
      [
        clusterPolicy('blue-may-reach-a', {
          subject: { namespaceSelector: inNamespace('a'), podSelector: sel() },
          ingress: [clusterRule('Accept', [clusterNamespaces(sel({ team: 'blue' }))])],
        }),
      ],
    ),
    spots: [
      ['b/db', 'a/web', '80/TCP', true],
      ['b/other', 'a/client', '81/UDP', true],
      ['c/tool', 'a/web', '80/TCP', false],
      ['a/client', 'a/web2', '80/TCP', false],
    ],
  },
  {
    name: 'Pass skips the rest of the Admin tier and hands over to NetworkPolicy, then Baseline',
    cluster: world(
      [],
      [
        clusterPolicy('pass-clients', {
          priority: 10,
          subject: webs,
          ingress: [clusterRule('Pass', [clusterPods(sel(), sel({ app: 'client' }))])],
        }),
        clusterPolicy('deny-rest', {
          priority: 20,
          subject: webs,
          ingress: [clusterRule('Deny', [everyone])],
        }),
        clusterPolicy('baseline-no-red-clients', {
          tier: 'Baseline',
          subject: webs,
          ingress: [
            clusterRule('Deny', [clusterPods(sel({ team: 'red' }), sel({ app: 'client' }))]),
          ],
        }),
      ],
    ),
    spots: [
      ['b/other', 'a/web', '80/TCP', true],
      ['a/client', 'a/web2', '80/TCP', false],
      ['b/db', 'a/web', '80/TCP', false],
      ['c/tool', 'a/web2', '81/UDP', false],
    ],
  },
  {
    name: 'Baseline isolates namespaces; a NetworkPolicy overrides it for the pods it selects',
    cluster: world(
      [policy('b/db-from-anyone', { podSelector: sel({ app: 'db' }), ingress: [rule()] })],
      [
        clusterPolicy('same-namespace-only-a', {
          tier: 'Baseline',
          subject: { namespaceSelector: inNamespace('a'), podSelector: sel() },
          ingress: [
            clusterRule('Accept', [clusterNamespaces(inNamespace('a'))], null, { name: 'own' }),
            clusterRule('Deny', [everyone], null, { name: 'others' }),
          ],
        }),
        clusterPolicy('same-namespace-only-b', {
          tier: 'Baseline',
          subject: { namespaceSelector: inNamespace('b'), podSelector: sel() },
          ingress: [
            clusterRule('Accept', [clusterNamespaces(inNamespace('b'))]),
            clusterRule('Deny', [everyone]),
          ],
        }),
      ],
    ),
    spots: [
      ['a/client', 'a/web2', '80/TCP', true],
      ['b/db', 'a/web', '80/TCP', false],
      ['a/client', 'b/other', '80/TCP', false],
      ['a/client', 'b/db', '80/TCP', true],
      ['c/tool', 'b/db', '81/UDP', true],
    ],
  },
  {
    name: 'egress: an Admin Deny to networks (both families) on a port range; an Accept still meets the destination ingress',
    cluster: world(
      [policy('c/tool-closed', { podSelector: sel({ app: 'tool' }), ingress: [] })],
      [
        clusterPolicy('no-client-to-n2-pods', {
          subject: { namespaceSelector: inNamespace('a'), podSelector: sel({ app: 'client' }) },
          egress: [
            clusterRule('Accept', [clusterNamespaces(inNamespace('c'))]),
            clusterRule(
              'Deny',
              [clusterNetworks('10.100.2.0/24', 'fd00:100:0:2::/64')],
              [clusterPort(80, 'TCP', 81)],
            ),
          ],
        }),
      ],
    ),
    extraPorts: [8080],
    spots: [
      ['a/client', 'a/web2', '80/TCP', false],
      ['a/client', 'b/db', '81/TCP', false],
      ['a/client', 'b/db', '8080/TCP', true],
      ['a/client', 'a/web2', '80/UDP', true],
      ['a/client', 'c/tool', '80/TCP', false],
    ],
  },
  {
    name: 'destinationNamedPort resolves on each destination pod, and a rule that fails closed denies all',
    cluster: world(
      [],
      [
        clusterPolicy('web-only-on-http', {
          subject: webs,
          ingress: [
            clusterRule('Accept', [everyone], [clusterNamedPort('http')]),
            clusterRule('Deny', [everyone]),
          ],
        }),
        clusterPolicy('tool-isolated-by-unknown-peer', {
          priority: 5,
          subject: { namespaceSelector: inNamespace('c'), podSelector: sel() },
          egress: [clusterRule('Pass', [], null, { failClosed: 'peer 0: nodes is not supported' })],
        }),
      ],
    ),
    extraPorts: [8080, 8081],
    spots: [
      ['a/client', 'a/web', '8080/TCP', true],
      ['a/client', 'a/web', '8081/TCP', false],
      ['b/db', 'a/web2', '8081/TCP', true],
      ['b/db', 'a/web2', '80/TCP', false],
      ['c/tool', 'b/db', '80/TCP', false],
      ['b/db', 'c/tool', '80/TCP', true],
    ],
  },
];

describe(
  'ClusterNetworkPolicy tiers on the kernel (dual-stack, 2 nodes, 6 pods)',
  { skip: skip ?? false },
  () => {
    let nc: NetnsCluster;
    before(async () => {
      nc = await NetnsCluster.create();
      await nc.sync(world([], []));
    });
    after(async () => {
      await nc?.destroy();
    });

    for (const c of CASES)
      it(c.name, async () => {
        const report = await enforceAndProbe(
          nc,
          c.cluster,
          c.extraPorts ? { extraPorts: c.extraPorts } : {},
        );
        console.log(`${c.name}: ${summarizeReport(report)}`);
        assertSpots(report, c.spots);
      });
  },
);
