/**
 * Single-stack clusters on the kernel: the same cases on an IPv4-only and an
 * IPv6-only cluster (two nodes, two pods each), so that neither family's
 * dispatch maps, sets or host routes depend on the other being present.
 */
import { after, before, describe, it } from 'node:test';
import type { Cluster, Policy } from '../../src/policy/model.js';
import {
  cluster,
  ipBlock,
  named,
  node,
  ns,
  pod,
  podPeer,
  policy,
  port,
  rule,
  sel,
} from '../support/builders.js';
import { enforceAndProbe } from '../support/netns/enforce.js';
import { dataplaneSkipReason } from '../support/netns/lifecycle.js';
import { NetnsCluster } from '../support/netns/netns-cluster.js';
import { summarizeReport } from '../support/netns/probe.js';
import { assertSpots, type Spot } from '../support/netns/spots.js';

const skip = dataplaneSkipReason();

interface Family {
  readonly name: string;
  /** The address of host `h` in `range` (99: nodes, 100+n: pods of node n). */
  readonly ip: (range: number, h: number) => string;
  /** The CIDR of `range`. */
  readonly cidr: (range: number) => string;
  /** A CIDR holding every pod range and no node address. */
  readonly allPods: string;
}

const FAMILIES: readonly Family[] = [
  {
    name: 'IPv4-only',
    ip: (r, h) => `10.${r}.0.${h}`,
    cidr: (r) => `10.${r}.0.0/16`,
    allPods: '10.100.0.0/14',
  },
  {
    name: 'IPv6-only',
    ip: (r, h) => `fd00:${r}::${h}`,
    cidr: (r) => `fd00:${r}::/32`,
    allPods: 'fd00:100::/23',
  },
];

function familyCluster(f: Family, policies: readonly Policy[]): Cluster {
  return cluster(
    [ns('a'), ns('b')],
    [
      pod('a/client', { app: 'client' }, { nodeName: 'n1', ips: [f.ip(101, 2)] }),
      pod(
        'a/web',
        { app: 'web' },
        { nodeName: 'n1', ips: [f.ip(101, 3)], ports: [named('http', 8080)] },
      ),
      pod('b/client', { app: 'client' }, { nodeName: 'n2', ips: [f.ip(102, 2)] }),
      pod(
        'a/web2',
        { app: 'web' },
        { nodeName: 'n2', ips: [f.ip(102, 3)], ports: [named('http', 8081)] },
      ),
    ],
    policies,
    [node('n1', { addresses: [f.ip(99, 1)] }), node('n2', { addresses: [f.ip(99, 2)] })],
  );
}

const web = sel({ app: 'web' });

const CASES: readonly {
  name: string;
  policies: (f: Family) => readonly Policy[];
  spots: readonly Spot[];
}[] = [
  {
    name: 'ingress from same-namespace clients on a named port only',
    policies: () => [
      policy('a/web-in', {
        podSelector: web,
        ingress: [rule([podPeer(sel({ app: 'client' }))], [port('http')])],
      }),
    ],
    spots: [
      ['a/client', 'a/web', '8080/TCP', true],
      ['a/client', 'a/web', '80/TCP', false],
      ['a/client', 'a/web2', '8081/TCP', true],
      ['b/client', 'a/web', '8080/TCP', false],
      ['host/n1', 'a/web', '80/TCP', true],
    ],
  },
  {
    name: 'an ipBlock with except and egress to the own host by ipBlock',
    policies: (f) => [
      policy('a/web-in', {
        podSelector: web,
        ingress: [rule([ipBlock(f.allPods, f.cidr(102))])],
      }),
      policy('a/client-out', {
        podSelector: sel({ app: 'client' }),
        policyTypes: ['egress'],
        egress: [
          rule([ipBlock(f.cidr(101))]),
          rule(
            [ipBlock(f.ip(99, 1) + (f.name === 'IPv4-only' ? '/32' : '/128'))],
            [port(81, 'UDP')],
          ),
        ],
      }),
    ],
    spots: [
      ['a/client', 'a/web', '80/UDP', true],
      ['a/client', 'a/web2', '80/TCP', false],
      ['b/client', 'a/web', '80/TCP', false],
      ['a/client', 'host/n1', '81/UDP', true],
      ['a/client', 'host/n1', '81/TCP', false],
      ['host/n2', 'a/web2', '80/TCP', true],
    ],
  },
];

for (const f of FAMILIES)
  describe(`${f.name} cluster on the kernel`, { skip: skip ?? false }, () => {
    let nc: NetnsCluster;
    before(async () => {
      nc = await NetnsCluster.create();
    });
    after(async () => {
      await nc?.destroy();
    });
    for (const c of CASES)
      it(c.name, async () => {
        const report = await enforceAndProbe(nc, familyCluster(f, c.policies(f)), {
          extraPorts: [8080, 8081],
        });
        console.log(`${f.name}, ${c.name}: ${summarizeReport(report)}`);
        assertSpots(report, c.spots);
      });
  });
