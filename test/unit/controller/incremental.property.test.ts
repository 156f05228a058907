/**
 * The incremental controller model against a from-scratch build: random
 * clusters, random sequences of pod, namespace and policy changes applied to
 * a ClusterSnapshot one event at a time. After every event,
 *  - the shared sets it keeps are exactly those the policies define
 *    (peerSetsOf), with exactly the members membersOf computes from scratch;
 *  - every node renders from the snapshot byte-identically to a translation
 *    of the whole cluster (ClusterIndex);
 *  - the sets reported changed cover every set whose members differ from
 *    before the event (nothing is missed), and slices kept from the reported
 *    member deltas alone hold exactly the members.
 * Pools are small so that selectors, shared IPs, ipBlocks and named ports
 * keep hitting each other.
 *
 * Runs: twice NFTPOL_PROPERTY_RUNS (default 200); seed: NFTPOL_PROPERTY_SEED.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { renderNodeWith } from '../../../src/controller/engine.js';
import { ClusterSnapshot } from '../../../src/controller/snapshot.js';
import { SliceBook } from '../../../src/controller/slices.js';
import { ClusterIndex } from '../../../src/policy/cluster-index.js';
import type { Peer, Pod, Policy, PortSpec } from '../../../src/policy/model.js';
import { membersOf, peerSetsIn } from '../../../src/policy/peer-sets.js';
import { compareText } from '../../../src/policy/order.js';
import {
  ipBlock,
  named,
  node,
  ns,
  nsPeer,
  pod,
  podPeer,
  policy,
  port,
  rule,
  sel,
} from '../../support/builders.js';

const RUNS = Number(process.env['NFTPOL_PROPERTY_RUNS'] ?? 200) * 2;
const SEED = Number(process.env['NFTPOL_PROPERTY_SEED'] ?? 424242);

const NAMESPACES = ['a', 'b', 'c'];
const NODES = ['n1', 'n2', 'n3'];
const APPS = ['x', 'y'];
const IPS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.9', 'fd00::1', 'fd00::2'];

const podArb: fc.Arbitrary<Pod> = fc
  .record({
    ns: fc.constantFrom(...NAMESPACES),
    name: fc.constantFrom('p1', 'p2', 'p3', 'p4'),
    app: fc.option(fc.constantFrom(...APPS), { nil: undefined }),
    node: fc.constantFrom(...NODES),
    ips: fc.uniqueArray(fc.constantFrom(...IPS), { maxLength: 2 }),
    http: fc.option(fc.constantFrom(80, 8080), { nil: undefined }),
    phase: fc.constantFrom('Running', 'Running', 'Succeeded'),
    terminating: fc.boolean(),
    created: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  })
  .map((r) =>
    pod(`${r.ns}/${r.name}`, r.app === undefined ? {} : { app: r.app }, {
      nodeName: r.node,
      ips: r.ips,
      ports: r.http === undefined ? [] : [named('http', r.http)],
      phase: r.phase as Pod['phase'],
      terminating: r.terminating,
      ...(r.created === undefined ? {} : { created: r.created }),
    }),
  );

const peerArb: fc.Arbitrary<Peer> = fc.oneof(
  fc.constantFrom(...APPS).map((a) => podPeer(sel({ app: a }))),
  fc.constant(podPeer()),
  fc
    .tuple(fc.constantFrom('t1', 't2'), fc.constantFrom(...APPS))
    .map(([t, a]) => nsPeer(sel({ team: t }), sel({ app: a }))),
  fc.constant(nsPeer(sel(), sel())),
  fc.constantFrom(ipBlock('10.0.0.0/30'), ipBlock('10.0.0.0/29', '10.0.0.2/32')),
);

const portsArb: fc.Arbitrary<readonly PortSpec[] | null> = fc.oneof(
  fc.constant(null),
  fc.constant([port(80)]),
  fc.constant([port('http')]),
  fc.constant([port('http'), port(443)]),
);

const policyArb: fc.Arbitrary<Policy> = fc
  .record({
    ns: fc.constantFrom(...NAMESPACES),
    name: fc.constantFrom('q1', 'q2', 'q3'),
    app: fc.option(fc.constantFrom(...APPS), { nil: undefined }),
    ingress: fc.array(
      fc.record({
        peers: fc.option(fc.array(peerArb, { maxLength: 2 }), { nil: null }),
        ports: portsArb,
      }),
      { maxLength: 2 },
    ),
    egress: fc.array(
      fc.record({
        peers: fc.option(fc.array(peerArb, { maxLength: 2 }), { nil: null }),
        ports: portsArb,
      }),
      { maxLength: 2 },
    ),
  })
  .map((r) =>
    policy(`${r.ns}/${r.name}`, {
      podSelector: r.app === undefined ? sel() : sel({ app: r.app }),
      ingress: r.ingress.map((x) => rule(x.peers?.length ? x.peers : null, x.ports)),
      egress: r.egress.map((x) => rule(x.peers?.length ? x.peers : null, x.ports)),
      policyTypes: ['ingress', 'egress'],
    }),
  );

type Op =
  | { readonly kind: 'pod'; readonly pod: Pod }
  | { readonly kind: 'deletePod'; readonly ns: string; readonly name: string }
  | { readonly kind: 'namespace'; readonly ns: string; readonly team: string | null }
  | { readonly kind: 'deleteNamespace'; readonly ns: string }
  | { readonly kind: 'policy'; readonly policy: Policy }
  | { readonly kind: 'deletePolicy'; readonly ns: string; readonly name: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: podArb.map((p): Op => ({ kind: 'pod', pod: p })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...NAMESPACES), fc.constantFrom('p1', 'p2', 'p3', 'p4'))
      .map(([n, name]): Op => ({ kind: 'deletePod', ns: n, name })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...NAMESPACES), fc.option(fc.constantFrom('t1', 't2'), { nil: null }))
      .map(([n, team]): Op => ({ kind: 'namespace', ns: n, team })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...NAMESPACES).map((n): Op => ({ kind: 'deleteNamespace', ns: n })),
  },
  { weight: 2, arbitrary: policyArb.map((p): Op => ({ kind: 'policy', policy: p })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...NAMESPACES), fc.constantFrom('q1', 'q2', 'q3'))
      .map(([n, name]): Op => ({ kind: 'deletePolicy', ns: n, name })),
  },
);

function apply(s: ClusterSnapshot, op: Op): void {
  switch (op.kind) {
    case 'pod':
      s.setPod(op.pod);
      return;
    case 'deletePod':
      s.deletePod(op.ns, op.name);
      return;
    case 'namespace':
      s.setNamespace(ns(op.ns, op.team === null ? {} : { team: op.team }));
      return;
    case 'deleteNamespace':
      s.deleteNamespace(op.ns);
      return;
    case 'policy':
      s.setPolicy(op.policy);
      return;
    case 'deletePolicy':
      s.deletePolicy(op.ns, op.name);
  }
}

/** Every set's members, sorted, from the snapshot's incremental memberships. */
function incremental(s: ClusterSnapshot): Map<string, string[]> {
  return new Map(
    s.memberships.ids().map((id) => [id, [...s.memberships.membersOf(id)].sort(compareText)]),
  );
}

describe('incremental memberships and renders equal a from-scratch build', () => {
  it('after every event of a random sequence', () => {
    const render = renderNodeWith({ failClosed: true });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(opArb, fc.boolean()), { minLength: 1, maxLength: 25 }),
        (steps) => {
          const s = new ClusterSnapshot();
          for (const n of NODES) s.setNode(node(n, { podCIDRs: ['10.0.0.0/28', 'fd00::/124'] }));
          let before = incremental(s);
          const book = new SliceBook(2);
          for (const [step, [op, batchEnds]] of steps.entries()) {
            apply(s, op);
            const c = s.cluster();
            const index = new ClusterIndex(c);
            const sets = peerSetsIn(c);
            const now = incremental(s);
            assert.deepEqual([...now.keys()], [...sets.keys()], `step ${step}: set ids`);
            for (const [id, set] of sets) {
              assert.deepEqual(
                now.get(id),
                membersOf(set, index).sort(compareText),
                `step ${step}: members of ${id}`,
              );
            }
            for (const n of NODES) {
              assert.equal(render(s, n).script, render(index, n).script, `step ${step}: node ${n}`);
            }
            // Several events may fall into one batch: changes are taken when it ends.
            if (!batchEnds && step < steps.length - 1) continue;
            const { changed, removed, deltas } = s.memberships.takeChanges();
            for (const [id, members] of now) {
              const was = before.get(id);
              if (was === undefined || was.join() !== members.join()) {
                assert.ok(changed.has(id), `step ${step}: ${id} changed but was not reported`);
              }
            }
            // Slices kept from the deltas alone hold exactly the members.
            for (const id of changed) {
              const delta = deltas.get(id) ?? null;
              if (delta === null || !book.knows(id)) book.sync(id, s.memberships.membersOf(id));
              else book.change(id, delta.added, delta.removed);
            }
            for (const id of removed) book.drop(id);
            for (const [id, members] of now) {
              assert.deepEqual(
                [...book.membersOf(id)].sort(compareText),
                members,
                `step ${step}: slices of ${id} kept from deltas`,
              );
            }
            before = now;
          }
        },
      ),
      { seed: SEED + 11, numRuns: RUNS },
    );
  });
});
