/**
 * ClusterNetworkPolicy tiers on the real kernel: the cluster of the
 * NetworkPolicy semantics suite (two dual-stack nodes, six pods in three
 * namespaces) with Admin and Baseline policies beside NetworkPolicies. Each
 * case renders every node's script, loads it with nft, probes every pair
 * (TCP and UDP, IPv4 and IPv6, pods and hosts) and compares every verdict
 * with the oracle, which evaluates the tiers from the API text; its spots pin
 * the point of the case on the kernel's own answers.
 */
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
  ns,
  pod,
  policy,
  rule,
  sel,
} from '../support/builders.js';
import {
  describeKernelCases,
  KERNEL_NODES,
  slotOn,
  type KernelCase,
} from '../support/netns/kernel-cases.js';

const NAMESPACES = [ns('a', { team: 'red' }), ns('b', { team: 'blue' }), ns('c')];
const CAST: readonly Pod[] = [
  pod('a/client', { app: 'client' }, slotOn(1, 2)),
  pod('a/web', { app: 'web' }, { ...slotOn(1, 3), ports: [named('http', 8080)] }),
  pod('b/other', { app: 'client' }, slotOn(1, 4)),
  pod('a/web2', { app: 'web' }, { ...slotOn(2, 2), ports: [named('http', 8081)] }),
  pod('b/db', { app: 'db' }, slotOn(2, 3)),
  pod('c/tool', { app: 'tool' }, slotOn(2, 4)),
];

const world = (policies: readonly Policy[], cnps: readonly ClusterPolicy[]): Cluster => ({
  ...cluster(NAMESPACES, CAST, policies, KERNEL_NODES),
  clusterPolicies: cnps,
});

const inNamespace = (name: string) => sel({ 'kubernetes.io/metadata.name': name });
const webs = { namespaceSelector: sel(), podSelector: sel({ app: 'web' }) };
const everyone = clusterNamespaces();

const CASES: readonly KernelCase[] = [
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

describeKernelCases(
  'ClusterNetworkPolicy tiers on the kernel (dual-stack, 2 nodes, 6 pods)',
  world([], []),
  CASES,
);
