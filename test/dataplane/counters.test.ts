/**
 * Counters on the real kernel: rendered scripts loaded in the netns cluster,
 * UDP probes sent for allowed and denied pairs (UDP: exactly one new packet
 * per probe, no retransmissions), then `nft -j list table inet nftpol` read
 * in each node's namespace and parsed with countersOf. Every count must have
 * grown by exactly the number of probes, on the right node, pod, direction
 * and policy — and nowhere else.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listTable } from '../../src/nft/apply.js';
import {
  countersOf,
  podCountersOf,
  policyCountersOf,
  type PodCounters,
  type PolicyCount,
} from '../../src/nft/counters.js';
import type { Pod } from '../../src/policy/model.js';
import { cluster, node, ns, pod, podPeer, policy, port, rule, sel } from '../support/builders.js';
import type { ProbeSpec } from '../support/netns/agent.js';
import { applyPolicies } from '../support/netns/enforce.js';
import { dataplaneSkipReason } from '../support/netns/lifecycle.js';
import { NetnsCluster } from '../support/netns/netns-cluster.js';

const skip = dataplaneSkipReason();

const web = pod('a/web', { app: 'web' }, { nodeName: 'n1', ips: ['10.100.1.2'] });
const client = pod('a/client', { app: 'client' }, { nodeName: 'n2', ips: ['10.100.2.2'] });
const other = pod('a/other', { app: 'other' }, { nodeName: 'n2', ips: ['10.100.2.3'] });

const scenario = cluster(
  [ns('a')],
  [web, client, other],
  [
    // web accepts UDP/80 from client only.
    policy('a/allow-client', {
      podSelector: sel({ app: 'web' }),
      ingress: [rule([podPeer(sel({ app: 'client' }))], [port(80, 'UDP')])],
    }),
    // client may send UDP/80 to web only.
    policy('a/client-egress', {
      podSelector: sel({ app: 'client' }),
      policyTypes: ['egress'],
      egress: [rule([podPeer(sel({ app: 'web' }))], [port(80, 'UDP')])],
    }),
  ],
  [node('n1', { addresses: ['10.99.0.1'] }), node('n2', { addresses: ['10.99.0.2'] })],
);

const ZERO: PodCounters = {
  ingressAllowed: 0,
  ingressDenied: 0,
  egressAllowed: 0,
  egressDenied: 0,
};

describe('rule counters under real traffic', { skip: skip ?? false }, () => {
  let nc: NetnsCluster;
  let sport = 33_000;

  const readCounts = async (nodeName: string) =>
    countersOf(
      await listTable({ command: ['ip', 'netns', 'exec', nc.node(nodeName).netns, 'nft'] }),
    );

  /** Sends `count` UDP probes from `from` to `to`:80; returns their outcomes. */
  const send = async (from: Pod, to: Pod, count: number): Promise<string[]> => {
    const agent = nc.slotOf(from)?.agent;
    assert.ok(agent, `no slot for ${from.name}`);
    const probes: ProbeSpec[] = Array.from({ length: count }, () => ({
      protocol: 'UDP',
      from: from.ips[0]!,
      to: to.ips[0]!,
      port: 80,
      sport: sport++,
    }));
    return (await agent.probe(probes, 400, 4)).map((r) => r.outcome);
  };

  before(async () => {
    nc = await NetnsCluster.create();
    await nc.sync(scenario);
    await applyPolicies(nc, scenario);
  });
  after(async () => {
    await nc?.destroy();
  });

  it('start at zero on a freshly loaded table', async () => {
    assert.deepEqual(podCountersOf(await readCounts('n1')), { 'a/web': ZERO });
    assert.deepEqual(podCountersOf(await readCounts('n2')), { 'a/client': ZERO });
  });

  it('count allowed and denied packets on the right node, pod, direction and policy', async () => {
    // allowed: client egress (n2) then web ingress (n1)
    assert.deepEqual(await send(client, web, 3), ['open', 'open', 'open']);
    // denied at web's ingress (other is not isolated for egress)
    assert.deepEqual(await send(other, web, 2), ['timeout', 'timeout']);
    // denied at client's egress, on n2: other is not isolated for ingress
    assert.deepEqual(await send(client, other, 4), ['timeout', 'timeout', 'timeout', 'timeout']);

    const n1 = await readCounts('n1');
    const n2 = await readCounts('n2');
    assert.deepEqual(podCountersOf(n1), {
      'a/web': { ingressAllowed: 3, ingressDenied: 2, egressAllowed: 0, egressDenied: 0 },
    });
    assert.deepEqual(podCountersOf(n2), {
      'a/client': { ingressAllowed: 0, ingressDenied: 0, egressAllowed: 3, egressDenied: 4 },
    });
    assert.deepEqual(policyCountersOf(n1), [
      { policy: 'a/allow-client', direction: 'ingress', packets: 3 },
    ] satisfies PolicyCount[]);
    assert.deepEqual(policyCountersOf(n2), [
      { policy: 'a/client-egress', direction: 'egress', packets: 3 },
    ] satisfies PolicyCount[]);
    // The allow is attributed to its rule, in the chain of the pod it protects.
    const allow = n1.find((c) => c.verdict === 'allowed');
    assert.deepEqual(
      allow && [allow.pod, allow.direction, allow.policy, allow.rule, allow.packets],
      ['a/web', 'ingress', 'a/allow-client', 0, 3],
    );
  });

  it('do not count replies: a second round adds exactly its own new packets', async () => {
    const before = podCountersOf(await readCounts('n1'))['a/web'] ?? ZERO;
    assert.deepEqual(await send(client, web, 2), ['open', 'open']);
    const after = podCountersOf(await readCounts('n1'))['a/web'] ?? ZERO;
    assert.equal(after.ingressAllowed - before.ingressAllowed, 2);
    assert.equal(after.ingressDenied, before.ingressDenied);
  });
});
