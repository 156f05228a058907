/**
 * NetworkPolicy semantics on the real kernel: one dual-stack cluster of two
 * node namespaces and six pod namespaces, one case per semantic bullet of
 * DESIGN.md. Each case renders every node's script from its Cluster, loads it
 * with nft, probes every pair (TCP and UDP, both families, pods and hosts)
 * and compares every verdict with the oracle; its spots pin the case's point
 * on the kernel's own answers. The namespaces are built once and reused: each
 * case only re-applies the scripts.
 */
import { it } from 'node:test';
import type { Cluster, Policy, Pod } from '../../src/policy/model.js';
import {
  cluster,
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
} from '../support/builders.js';
import { enforceAndProbe } from '../support/netns/enforce.js';
import {
  describeKernelCases,
  KERNEL_NODES,
  slotOn,
  type KernelCase,
} from '../support/netns/kernel-cases.js';
import { summarizeReport } from '../support/netns/probe.js';
import { assertSpots, type Spot } from '../support/netns/spots.js';

/** Three pod slots per node; a case puts a pod of its choosing on a slot. */
const SLOTS = ([1, 2] as const).flatMap((n) => [2, 3, 4].map((h) => slotOn(n, h)));
const NAMESPACES = [ns('a', { team: 'red' }), ns('b', { team: 'blue' }), ns('c')];

/** Pod `qualified` with `labels` on slot `i` (0–2 on n1, 3–5 on n2). */
function at(
  i: number,
  qualified: string,
  labels: Record<string, string>,
  over: Partial<Pod> = {},
): Pod {
  return pod(qualified, labels, { ...SLOTS[i]!, ...over });
}

/** The cast of most cases: a client and a web server on each node, and pods of two other namespaces. */
const CAST: readonly Pod[] = [
  at(0, 'a/client', { app: 'client' }),
  at(
    1,
    'a/web',
    { app: 'web', tier: 'front' },
    { ports: [named('http', 8080), named('dns', 8053, 'UDP')] },
  ),
  at(2, 'b/other', { app: 'client' }),
  at(3, 'a/web2', { app: 'web' }, { ports: [named('http', 8081), named('dns', 8054, 'UDP')] }),
  at(4, 'b/db', { app: 'db' }),
  at(5, 'c/tool', { app: 'tool', tier: 'back' }),
];

const world = (policies: readonly Policy[], pods: readonly Pod[] = CAST): Cluster =>
  cluster(NAMESPACES, pods, policies, KERNEL_NODES);

const webOnly = sel({ app: 'web' });

const CASES: readonly KernelCase[] = [
  {
    name: 'a pod no policy selects is unrestricted, and ingress: [] allows nothing to the pods it isolates',
    cluster: world([policy('a/deny-web', { podSelector: webOnly, ingress: [] })]),
    spots: [
      ['a/client', 'a/web', '80/TCP', false],
      ['a/client', 'a/web2', '80/UDP', false],
      ['a/web', 'a/client', '80/TCP', true],
      ['b/db', 'b/other', '81/UDP', true],
      ['host/n1', 'a/web', '80/TCP', true],
      ['host/n2', 'a/web', '80/TCP', false],
    ],
  },
  {
    name: 'an empty podSelector isolates every pod of its namespace and no other',
    cluster: world([policy('a/deny-all', { ingress: [] })]),
    spots: [
      ['b/db', 'a/client', '80/TCP', false],
      ['b/db', 'a/web2', '81/UDP', false],
      ['a/client', 'b/other', '80/TCP', true],
    ],
  },
  {
    name: 'ingress: [{}] isolates the pod but allows every peer and port',
    cluster: world([policy('a/allow-all', { podSelector: webOnly, ingress: [rule()] })]),
    spots: [
      ['b/db', 'a/web', '81/UDP', true],
      ['c/tool', 'a/web2', '8081/TCP', true],
    ],
  },
  {
    name: 'the rules of every policy selecting a pod are unioned',
    cluster: world([
      policy('a/from-clients', {
        podSelector: webOnly,
        ingress: [rule([podPeer(sel({ app: 'client' }))], [port(80)])],
      }),
      policy('a/from-blue', {
        podSelector: webOnly,
        ingress: [rule([nsPeer(sel({ team: 'blue' }))], [port(81)])],
      }),
    ]),
    spots: [
      ['a/client', 'a/web', '80/TCP', true],
      ['a/client', 'a/web', '81/TCP', false],
      ['b/db', 'a/web', '81/TCP', true],
      ['b/db', 'a/web', '80/TCP', false],
      ['b/other', 'a/web2', '81/TCP', true],
    ],
  },
  {
    name: "a podSelector peer alone matches only pods of the policy's namespace",
    cluster: world([
      policy('a/from-clients', {
        podSelector: webOnly,
        ingress: [rule([podPeer(sel({ app: 'client' }))])],
      }),
    ]),
    spots: [
      ['a/client', 'a/web', '80/TCP', true],
      ['b/other', 'a/web', '80/TCP', false],
      ['b/other', 'a/web2', '80/UDP', false],
    ],
  },
  {
    name: 'a namespaceSelector peer alone matches every pod of the namespaces it selects',
    cluster: world([
      policy('a/from-blue', {
        podSelector: webOnly,
        ingress: [rule([nsPeer(sel({ team: 'blue' }))])],
      }),
    ]),
    spots: [
      ['b/other', 'a/web', '80/TCP', true],
      ['b/db', 'a/web2', '81/UDP', true],
      ['a/client', 'a/web', '80/TCP', false],
      ['c/tool', 'a/web', '80/TCP', false],
    ],
  },
  {
    name: 'namespaceSelector and podSelector in one peer must both match, and separate peers are ORed',
    cluster: world([
      policy('a/and', {
        podSelector: sel({ app: 'web', tier: 'front' }),
        ingress: [rule([nsPeer(sel({ team: 'blue' }), sel({ app: 'db' }))])],
      }),
      policy('a/or', {
        podSelector: sel({}, expr('tier', 'DoesNotExist')),
        ingress: [
          rule([
            nsPeer(sel({ team: 'blue' }), sel({ app: 'db' })),
            podPeer(sel({ app: 'client' })),
          ]),
        ],
      }),
    ]),
    spots: [
      ['b/db', 'a/web', '80/TCP', true],
      ['b/other', 'a/web', '80/TCP', false],
      ['a/client', 'a/web', '80/TCP', false],
      ['b/db', 'a/web2', '80/TCP', true],
      ['a/client', 'a/web2', '80/UDP', true],
      ['c/tool', 'a/web2', '80/TCP', false],
    ],
  },
  {
    name: 'matchExpressions In, NotIn, Exists and DoesNotExist select pods and namespaces',
    cluster: world([
      policy('a/in', {
        podSelector: sel({}, expr('app', 'In', 'web', 'db')),
        ingress: [rule([nsPeer(sel({}, expr('team', 'NotIn', 'red')))])],
      }),
      policy('b/exists', {
        podSelector: sel({}, expr('app', 'Exists')),
        ingress: [rule([nsPeer(sel(), sel({}, expr('tier', 'Exists')))])],
      }),
    ]),
    spots: [
      ['b/db', 'a/web', '80/TCP', true],
      ['c/tool', 'a/web2', '80/TCP', true],
      ['a/client', 'a/web', '80/TCP', false],
      ['a/web2', 'a/client', '80/TCP', true],
      ['c/tool', 'b/db', '81/UDP', true],
      ['a/web', 'b/other', '80/TCP', true],
      ['a/client', 'b/db', '80/TCP', false],
    ],
  },
  {
    name: 'an ipBlock with except, over pod IPs, allows the block less the exception in both families',
    cluster: world([
      policy('a/block', {
        podSelector: webOnly,
        ingress: [
          rule([
            ipBlock('10.100.0.0/16', '10.100.2.0/24'),
            ipBlock('fd00:100::/48', 'fd00:100:0:2::/64'),
          ]),
        ],
      }),
    ]),
    spots: [
      ['a/client', 'a/web', '80/TCP', true],
      ['b/other', 'a/web2', '81/UDP', true],
      ['b/db', 'a/web', '80/TCP', false],
      ['c/tool', 'a/web', '80/UDP', false],
      ['host/n2', 'a/web', '80/TCP', false],
    ],
  },
  {
    name: 'ports: a number, an endPort range, and a protocol (TCP by default, UDP when named)',
    extraPorts: [8080, 8081, 8082],
    cluster: world([
      policy('a/ports', {
        podSelector: webOnly,
        ingress: [rule(null, [port(8080, 'TCP', 8081), port(81, 'UDP')])],
      }),
    ]),
    spots: [
      ['a/client', 'a/web', '8080/TCP', true],
      ['a/client', 'a/web2', '8081/TCP', true],
      ['a/client', 'a/web', '8082/TCP', false],
      ['a/client', 'a/web', '8080/UDP', false],
      ['b/db', 'a/web', '81/UDP', true],
      ['b/db', 'a/web', '81/TCP', false],
      ['b/db', 'a/web', '80/TCP', false],
    ],
  },
  {
    name: 'a named ingress port resolves on each destination pod to its own number and protocol',
    extraPorts: [8080, 8081],
    cluster: world([
      policy('a/http', {
        podSelector: webOnly,
        ingress: [rule(null, [port('http'), port('dns', 'UDP')])],
      }),
    ]),
    spots: [
      ['a/client', 'a/web', '8080/TCP', true],
      ['a/client', 'a/web', '8081/TCP', false],
      ['a/client', 'a/web2', '8081/TCP', true],
      ['a/client', 'a/web2', '8080/TCP', false],
      ['b/db', 'a/web', '8053/UDP', true],
      ['b/db', 'a/web', '8053/TCP', false],
      ['b/db', 'a/web2', '8054/UDP', true],
    ],
  },
  {
    name: 'a named port that no destination declares allows nothing',
    cluster: world([
      policy('a/nosuch', { podSelector: webOnly, ingress: [rule(null, [port('nosuch')])] }),
    ]),
    spots: [
      ['a/client', 'a/web', '80/TCP', false],
      ['a/client', 'a/web', '8080/TCP', false],
      ['a/client', 'a/web2', '8081/TCP', false],
    ],
  },
  {
    name: 'a named egress port resolves on each peer pod',
    extraPorts: [8080, 8081],
    cluster: world([
      policy('a/client-out', {
        podSelector: sel({ app: 'client' }),
        policyTypes: ['egress'],
        egress: [rule([podPeer(webOnly)], [port('http')])],
      }),
    ]),
    spots: [
      ['a/client', 'a/web', '8080/TCP', true],
      ['a/client', 'a/web', '8081/TCP', false],
      ['a/client', 'a/web2', '8081/TCP', true],
      ['a/client', 'a/web2', '80/TCP', false],
      ['a/client', 'b/db', '80/TCP', false],
      ['b/other', 'a/web', '80/TCP', true],
    ],
  },
  {
    name: "same-node traffic must pass both the source's egress and the destination's ingress",
    cluster: world([
      policy('a/client-out', {
        podSelector: sel({ app: 'client' }),
        policyTypes: ['egress'],
        egress: [rule([podPeer(webOnly)], [port(80)])],
      }),
      policy('a/web-in', {
        podSelector: webOnly,
        ingress: [rule([podPeer(sel({ app: 'client' }))], [port(80), port(81)])],
      }),
    ]),
    spots: [
      ['a/client', 'a/web', '80/TCP', true],
      ['a/client', 'a/web', '81/TCP', false],
      ['a/client', 'b/other', '80/TCP', false],
      ['b/other', 'a/web', '80/TCP', false],
      ['a/client', 'a/web2', '80/TCP', true],
    ],
  },
  {
    name: 'cross-node traffic is checked for egress on the source node and for ingress on the destination node',
    cluster: world([
      policy('a/client-out', {
        podSelector: sel({ app: 'client' }),
        egress: [rule([podPeer(webOnly)], [port(80), port(81)])],
        policyTypes: ['egress'],
      }),
      policy('a/web2-in', {
        podSelector: sel({ app: 'web', tier: 'front' }),
        ingress: [rule(null, [port(81)])],
      }),
      policy('b/db-in', {
        podSelector: sel({ app: 'db' }),
        ingress: [rule([nsPeer(sel({ team: 'red' }), sel({ app: 'client' }))], [port(80, 'UDP')])],
      }),
    ]),
    spots: [
      ['a/client', 'a/web2', '80/TCP', true],
      ['a/client', 'a/web', '80/TCP', false],
      ['a/client', 'a/web', '81/TCP', true],
      ['a/client', 'b/db', '80/UDP', false],
      ['b/other', 'b/db', '80/UDP', false],
    ],
  },
  {
    name: "an allowed connection's reply passes although the reverse direction is denied",
    cluster: world([
      policy('a/client-isolated', { podSelector: sel({ app: 'client' }), ingress: [] }),
      policy('a/web-in', {
        podSelector: webOnly,
        ingress: [rule([podPeer(sel({ app: 'client' }))])],
      }),
      policy('a/web-out', { podSelector: webOnly, policyTypes: ['egress'], egress: [] }),
    ]),
    spots: [
      ['a/client', 'a/web', '80/TCP', true],
      ['a/client', 'a/web', '80/UDP', true],
      ['a/client', 'a/web2', '81/UDP', true],
      ['a/web', 'a/client', '80/TCP', false],
      ['a/web2', 'a/client', '80/UDP', false],
    ],
  },
  {
    name: "a pod whose egress is denied cannot reach its host unless an ipBlock allows the node's address, and its host still reaches it",
    cluster: world([
      policy('a/client-out', {
        podSelector: sel({ app: 'client' }),
        policyTypes: ['egress'],
        egress: [],
      }),
      policy('a/web-out', {
        podSelector: webOnly,
        policyTypes: ['egress'],
        egress: [rule([ipBlock('10.99.0.1/32'), ipBlock('fd00:99::1/128')])],
      }),
    ]),
    spots: [
      ['a/client', 'host/n1', '80/TCP', false],
      ['host/n1', 'a/client', '80/TCP', true],
      ['a/web', 'host/n1', '81/UDP', true],
      ['a/web', 'host/n2', '80/TCP', false],
      ['a/web2', 'host/n1', '80/TCP', true],
      ['a/web2', 'host/n2', '80/TCP', false],
    ],
  },
  {
    name: 'policyTypes default to Ingress and Egress when egress rules exist, while Egress alone leaves ingress open',
    cluster: world([
      policy('b/db', {
        podSelector: sel({ app: 'db' }),
        egress: [rule([podPeer(sel({ app: 'client' }))])],
      }),
      policy('c/tool', { podSelector: sel({ app: 'tool' }), policyTypes: ['egress'], egress: [] }),
    ]),
    spots: [
      ['b/other', 'b/db', '80/TCP', false],
      ['b/db', 'b/other', '80/TCP', true],
      ['b/db', 'a/client', '80/TCP', false],
      ['a/client', 'c/tool', '80/TCP', true],
      ['c/tool', 'a/client', '80/TCP', false],
    ],
  },
  {
    name: 'terminal and hostNetwork pods are neither targets nor peers',
    cluster: world(
      [
        policy('a/from-any-pod', { podSelector: webOnly, ingress: [rule([nsPeer(sel())])] }),
        policy('c/deny', { ingress: [] }),
      ],
      [
        ...CAST.slice(0, 5),
        at(5, 'c/done', { app: 'tool' }, { phase: 'Succeeded' }),
        pod(
          'c/hostnet',
          { app: 'tool' },
          { nodeName: 'n2', hostNetwork: true, ips: ['10.99.0.2', 'fd00:99::2'] },
        ),
      ],
    ),
    spots: [
      ['b/db', 'a/web', '80/TCP', true],
      ['~', 'a/web', '80/TCP', false],
      ['host/n2', 'a/web', '80/TCP', false],
      ['a/client', '~', '80/TCP', true],
    ],
  },
];

describeKernelCases(
  'NetworkPolicy semantics on the kernel (dual-stack, 2 nodes, 6 pods)',
  world([]),
  CASES,
  (nc) => {
    it('a tightened policy and a deleted policy take effect when the scripts are re-applied', async () => {
      const allowAll = policy('a/web-in', { podSelector: webOnly, ingress: [rule()] });
      const tightened = policy('a/web-in', {
        podSelector: webOnly,
        ingress: [rule([podPeer(sel({ app: 'client' }))], [port(80)])],
      });
      const steps: readonly (readonly [string, Cluster, readonly Spot[]])[] = [
        [
          'allow all',
          world([allowAll]),
          [
            ['a/client', 'a/web', '81/TCP', true],
            ['b/db', 'a/web2', '80/UDP', true],
          ],
        ],
        [
          'tightened to clients on 80/TCP',
          world([tightened]),
          [
            ['a/client', 'a/web', '81/TCP', false],
            ['a/client', 'a/web', '80/TCP', true],
            ['b/db', 'a/web2', '80/UDP', false],
          ],
        ],
        [
          'deleted',
          world([]),
          [
            ['a/client', 'a/web', '81/TCP', true],
            ['b/db', 'a/web2', '80/UDP', true],
          ],
        ],
      ];
      for (const [label, c, spots] of steps) {
        const report = await enforceAndProbe(nc(), c);
        console.log(`policy change, ${label}: ${summarizeReport(report)}`);
        assertSpots(report, spots);
      }
    });
  },
);
