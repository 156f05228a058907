/**
 * Shared pod IPs. Two enforceable pods can claim one IP — a Terminating pod
 * still Running whose IP was reused, or a stale status — and the dataplane
 * dispatches by IP, so only one pod's policies can be enforced for it. Which
 * one is a rule, and every stage must apply the same rule:
 *
 *   1. a pod that is not terminating (no `deletionTimestamp`) wins;
 *   2. then the newest (`creationTimestamp`; unknown counts as oldest);
 *   3. then the first by namespace/name.
 *
 * Each row names the pods claiming 10.0.0.5 and the pod it is enforced for;
 * translate (the plan's chain for the IP), render (no throw) and the oracle
 * (the pod whose policies decide) must all agree, and the loser's policies
 * must not apply at that address.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { renderScript } from '../../../src/nft/render.js';
import { explainConnection } from '../../../src/policy/explain.js';
import type { Pod } from '../../../src/policy/model.js';
import { compareIpClaims, sharedPodIps } from '../../../src/policy/shared-ips.js';
import { ClusterIndex } from '../../../src/policy/cluster-index.js';
import { membersOf, peerSetsOf } from '../../../src/policy/peer-sets.js';
import { translateNode } from '../../../src/policy/translate.js';
import { cluster, ns, pod, podPeer, policy, port, rule, sel } from '../../support/builders.js';

const IP = '10.0.0.5';
const CLIENT = '10.0.0.9';
const T1 = Date.parse('2024-05-01T10:00:00Z');
const T2 = Date.parse('2024-05-01T11:00:00Z');

/** A pod of app `name` holding IP (and more), on node-1. */
function claimant(qualified: string, over: Partial<Pod> = {}): Pod {
  const app = qualified.split('/')[1] ?? '';
  return pod(qualified, { app }, { nodeName: 'node-1', ips: [IP], ...over });
}

/**
 * Every claimant is isolated for ingress by a policy of its own namespace
 * that allows only its own port: 80 + the pod's index, so the port a
 * connection is allowed on says whose policy decided.
 */
function scene(pods: readonly Pod[]) {
  const policies = pods.map((p, i) =>
    policy(`${p.namespace}/only-${p.name}`, {
      podSelector: sel({ app: p.name }),
      ingress: [rule(null, [port(80 + i)])],
    }),
  );
  const client = pod('c/client', { app: 'client' }, { nodeName: 'node-2', ips: [CLIENT] });
  return cluster([ns('a'), ns('b'), ns('c')], [...pods, client], policies);
}

describe('a shared pod IP is enforced for one pod, the same one everywhere', () => {
  const rows: { name: string; pods: readonly Pod[]; enforced: string }[] = [
    {
      name: 'a pod that is not terminating wins over a terminating one, even an older one',
      pods: [
        claimant('a/web', { created: T1 }),
        claimant('b/twin', { created: T2, terminating: true }),
      ],
      enforced: 'a/web',
    },
    {
      name: 'the newer of two running pods wins',
      pods: [claimant('a/web', { created: T1 }), claimant('b/twin', { created: T2 })],
      enforced: 'b/twin',
    },
    {
      name: 'the newer of two terminating pods wins',
      pods: [
        claimant('a/web', { created: T2, terminating: true }),
        claimant('b/twin', { created: T1, terminating: true }),
      ],
      enforced: 'a/web',
    },
    {
      name: 'a known creation time is newer than an unknown one',
      pods: [claimant('a/web'), claimant('b/twin', { created: T1 })],
      enforced: 'b/twin',
    },
    {
      name: 'with nothing else to tell them apart, the first by namespace/name wins',
      pods: [claimant('b/twin', { created: T1 }), claimant('a/web', { created: T1 })],
      enforced: 'a/web',
    },
  ];
  for (const row of rows) {
    it(`${row.name}: ${row.enforced}`, () => {
      const c = scene(row.pods);
      const i = row.pods.findIndex((p) => `${p.namespace}/${p.name}` === row.enforced);
      const plan = translateNode(c, 'node-1');
      const chains = plan.chains.filter((ch) => ch.ips.includes(IP));
      assert.deepEqual(
        chains.map((ch) => ch.pod),
        [row.enforced],
        'one chain holds the IP, the enforced pod’s',
      );
      assert.doesNotThrow(() => renderScript(plan));

      const ask = (p: number) =>
        explainConnection(c, { from: CLIENT, to: IP, protocol: 'TCP', port: p });
      const verdict = ask(80 + i);
      assert.equal(verdict.allowed, true, 'the enforced pod’s own port is open');
      assert.equal(verdict.ingress.pod, row.enforced);
      assert.deepEqual(verdict.ingress.sharedIp, {
        ip: IP,
        pods: [
          row.enforced,
          ...row.pods
            .map((p) => `${p.namespace}/${p.name}`)
            .filter((n) => n !== row.enforced)
            .sort(),
        ],
        enforced: row.enforced,
      });
      assert.equal(ask(80 + 1 - i).allowed, false, 'the other pod’s port is not');
    });
  }

  it('compareIpClaims is a strict order: antisymmetric and never 0 for two pods', () => {
    const pods = rows.flatMap((r) => r.pods);
    for (const a of pods) {
      for (const b of pods) {
        if (a === b) continue;
        const same = a.namespace === b.namespace && a.name === b.name;
        const x = compareIpClaims(a, b);
        assert.equal(Math.sign(x) + Math.sign(compareIpClaims(b, a)), 0);
        if (!same) assert.notEqual(x, 0);
      }
    }
  });
});

describe('a pod that loses its shared IP', () => {
  it('keeps its other family: a dual-stack pod whose IPv4 was taken keeps its IPv6 chain', () => {
    const c = scene([
      claimant('a/web', { created: T1, ips: [IP, 'fd00::5'] }),
      claimant('b/twin', { created: T2 }),
    ]);
    const chains = translateNode(c, 'node-1').chains.map((ch) => `${ch.pod} ${ch.ips.join(',')}`);
    assert.deepEqual(chains, ['a/web fd00::5', 'b/twin 10.0.0.5']);
  });

  it('is no peer at that address: a selector matching only the loser does not allow it', () => {
    const c = cluster(
      [ns('a')],
      [
        claimant('a/web', { created: T2 }),
        claimant('a/twin', { created: T1 }),
        pod('a/db', { app: 'db' }, { nodeName: 'node-2', ips: ['10.0.0.7'] }),
      ],
      [
        policy('a/db-from-twin', {
          podSelector: sel({ app: 'db' }),
          ingress: [rule([podPeer(sel({ app: 'twin' }))])],
        }),
      ],
    );
    const v = explainConnection(c, { from: IP, to: '10.0.0.7', protocol: 'TCP', port: 80 });
    assert.equal(v.allowed, false);
    assert.equal(v.egress.pod, 'a/web');
    const plan = translateNode(c, 'node-2');
    const allows = plan.chains.flatMap((ch) => ch.allows);
    assert.equal(allows.length, 1, 'one allow, naming the set of app=twin');
    const peer = allows[0]!.peer;
    assert.ok(peer.kind === 'set');
    const set = peerSetsOf(c.policies).get(peer.set)!;
    assert.deepEqual(membersOf(set, new ClusterIndex(c)), [], 'the set of a/twin is empty');
  });

  it('is named when asked about, with the pod whose policies are enforced for its IP', () => {
    const c = scene([claimant('a/web', { created: T2 }), claimant('b/twin', { created: T1 })]);
    const v = explainConnection(c, {
      from: CLIENT,
      to: IP,
      protocol: 'TCP',
      port: 80,
      toPod: 'b/twin',
    });
    assert.equal(v.ingress.pod, 'b/twin');
    assert.deepEqual(v.ingress.sharedIp, { ip: IP, pods: ['a/web', 'b/twin'], enforced: 'a/web' });
    assert.deepEqual(v.ingress.policies, ['a/only-web'], 'a/web’s policies decide');
    assert.equal(
      v.allowed,
      true,
      'a/web allows port 80; b/twin’s policy (port 81) is not enforced',
    );
  });

  it('an unshared IP carries no sharedIp, and asking by pod changes nothing', () => {
    const c = scene([claimant('a/web')]);
    const v = explainConnection(c, {
      from: CLIENT,
      to: IP,
      protocol: 'TCP',
      port: 80,
      toPod: 'a/web',
    });
    assert.equal('sharedIp' in v.ingress, false);
    assert.equal(v.ingress.pod, 'a/web');
  });
});

describe('sharedPodIps', () => {
  it('lists each IP held by several enforceable pods, the enforced pod first', () => {
    const pods = [
      claimant('a/web', { created: T1, ips: [IP, 'fd00::5'] }),
      claimant('b/twin', { created: T2 }),
      claimant('b/old', { phase: 'Succeeded' }),
      claimant('b/host', { hostNetwork: true }),
      pod('c/x', {}, { ips: ['fd00::5'], terminating: true }),
    ];
    assert.deepEqual(
      sharedPodIps(pods).map((s) => ({
        ip: s.ip,
        pods: s.pods.map((p) => `${p.namespace}/${p.name}`),
      })),
      [
        { ip: IP, pods: ['b/twin', 'a/web'] },
        { ip: 'fd00::5', pods: ['a/web', 'c/x'] },
      ],
    );
  });
});
