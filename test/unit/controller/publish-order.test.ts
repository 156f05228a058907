/**
 * Write order and slice publishing (v2), against recording writers: slices
 * before the NodeFirewalls naming them, also when a slice write fails (the
 * NodeFirewalls naming that set wait for its retry, the others go ahead); a
 * restart that adopts the existing slices writes nothing; a slice deleted by
 * someone else is rewritten; a retired set's slices are deleted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RenderedNode, SetMembers } from '../../../src/controller/engine.js';
import { OrderedPublisher } from '../../../src/controller/publish-order.js';
import { Publisher } from '../../../src/controller/publisher.js';
import { SetPublisher } from '../../../src/controller/set-publisher.js';
import { observedSlice } from '../../../src/controller/slices.js';
import type { AddressSetApply } from '../../../src/k8s/addressset-api.js';
import { EMPTY_SUMMARY } from '../../../src/k8s/nodefirewall.js';
import type { Peer } from '../../../src/policy/model.js';
import { podsPeerSet } from '../../../src/policy/peer-sets.js';
import { createLogger } from '../../../src/telemetry/log.js';
import { FakeClock, settle } from '../../support/fake-clock.js';
import { podPeer, policy, sel } from '../../support/builders.js';

type PodsPeer = Extract<Peer, { kind: 'pods' }>;
const WEB = podsPeerSet(policy('shop/a'), podPeer(sel({ app: 'web' })) as PodsPeer);
const DB = podsPeerSet(policy('shop/b'), podPeer(sel({ app: 'db' })) as PodsPeer);

function members(set: typeof WEB, ...ips: string[]): SetMembers {
  return { id: set.id, set, members: () => ips, delta: null };
}

function node(name: string, ...sets: (typeof WEB)[]): RenderedNode {
  return {
    node: name,
    script: `script ${name} ${sets.map((s) => s.id).join(' ')}`,
    scriptHash: `sha256:${name}${sets.map((s) => s.id).join('')}`,
    summary: EMPTY_SUMMARY,
    addressSets: sets.map((s) => s.id),
  };
}

interface Rig {
  readonly calls: string[];
  readonly failing: Set<string>;
  readonly retried: string[][];
  readonly clock: FakeClock;
  readonly sets: SetPublisher;
  readonly ordered: OrderedPublisher;
  readonly applied: Map<string, AddressSetApply>;
}

function rig(sliceSize = 2): Rig {
  const calls: string[] = [];
  const failing = new Set<string>();
  const retried: string[][] = [];
  const applied = new Map<string, AddressSetApply>();
  const clock = new FakeClock();
  const log = createLogger({ component: 'test', level: 'silent' });
  const sets = new SetPublisher(
    {
      apply: async (body) => {
        await settle();
        if (failing.has(body.spec.setId)) throw new Error('etcd is unhappy');
        calls.push(`slice ${body.metadata.name} [${body.spec.members.join(' ')}]`);
        applied.set(body.metadata.name, body);
      },
      remove: async (name) => {
        await settle();
        calls.push(`delete slice ${name}`);
        applied.delete(name);
      },
    },
    {
      sliceSize,
      concurrency: 4,
      retryDelayMs: 100,
      clock,
      retry: (ids) => retried.push([...ids]),
      log,
    },
  );
  const firewalls = new Publisher(
    {
      apply: (body) => {
        calls.push(`nfw ${body.metadata.name}`);
        return Promise.resolve();
      },
      remove: () => Promise.resolve(),
    },
    { concurrency: 4, retryDelayMs: 100, clock, nodeUid: () => 'uid', retry: () => undefined, log },
  );
  sets.setLeading(true);
  return {
    calls,
    failing,
    retried,
    clock,
    sets,
    ordered: new OrderedPublisher(sets, firewalls),
    applied,
  };
}

describe('OrderedPublisher: slices before NodeFirewalls', () => {
  it('writes every slice of a batch before any NodeFirewall', async () => {
    const r = rig();
    await r.ordered.publish({
      sets: [members(WEB, '10.0.0.1', '10.0.0.2', '10.0.0.3'), members(DB)],
      rendered: [node('n1', WEB), node('n2', DB), node('n3')],
      removed: [],
    });
    const firstNfw = r.calls.findIndex((c) => c.startsWith('nfw'));
    const lastSlice = r.calls.map((c) => c.startsWith('slice')).lastIndexOf(true);
    assert.ok(lastSlice < firstNfw, r.calls.join('\n'));
    assert.deepEqual(
      r.calls.filter((c) => c.startsWith('slice')).sort(),
      [
        `slice ${DB.id}-0 []`,
        `slice ${WEB.id}-0 [10.0.0.1 10.0.0.2]`,
        `slice ${WEB.id}-1 [10.0.0.3]`,
      ].sort(),
    );
  });

  it('holds back the NodeFirewalls naming a set whose write failed, and releases them on its retry', async () => {
    const r = rig();
    r.failing.add(WEB.id);
    await r.ordered.publish({
      sets: [members(WEB, '10.0.0.1'), members(DB, '10.0.0.9')],
      rendered: [node('n1', WEB), node('n2', DB), node('n3', WEB, DB)],
      removed: [],
    });
    assert.deepEqual(r.calls, [`slice ${DB.id}-0 [10.0.0.9]`, 'nfw n2']);
    assert.deepEqual(r.ordered.heldNodes(), ['n1', 'n3']);
    await r.clock.advance(100);
    assert.deepEqual(r.retried, [[WEB.id]]);
    assert.deepEqual(r.ordered.release([WEB.id]), ['n1', 'n3']);
    assert.deepEqual(r.ordered.heldNodes(), []);
    r.failing.clear();
    await r.ordered.publish({
      sets: [members(WEB, '10.0.0.1')],
      rendered: [node('n1', WEB), node('n3', WEB, DB)],
      removed: [],
    });
    assert.deepEqual(r.calls.slice(2), [`slice ${WEB.id}-0 [10.0.0.1]`, 'nfw n1', 'nfw n3']);
  });
});

describe('SetPublisher: the fewest slice writes', () => {
  it('one member joining writes one slice; unchanged members write nothing', async () => {
    const r = rig();
    await r.sets.publish([members(WEB, '10.0.0.1', '10.0.0.2', '10.0.0.3')], []);
    r.calls.length = 0;
    await r.sets.publish([members(WEB, '10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4')], []);
    assert.deepEqual(r.calls, [`slice ${WEB.id}-1 [10.0.0.3 10.0.0.4]`]);
    r.calls.length = 0;
    await r.sets.publish([members(WEB, '10.0.0.4', '10.0.0.3', '10.0.0.2', '10.0.0.1')], []);
    assert.deepEqual(r.calls, []);
  });

  it('a new leader that adopts the existing slices writes nothing for the same members', async () => {
    const first = rig();
    await first.sets.publish([members(WEB, '10.0.0.1', '10.0.0.2', '10.0.0.3')], []);
    const next = rig();
    next.sets.setLeading(false);
    for (const body of first.applied.values()) {
      next.sets.observe(body.metadata.name, observedSlice(body));
    }
    next.sets.setLeading(true);
    assert.deepEqual(next.sets.observedIds(), [WEB.id]);
    await next.sets.publish([members(WEB, '10.0.0.3', '10.0.0.1', '10.0.0.2')], []);
    assert.deepEqual(next.calls, []);
  });

  it('a slice deleted by someone else is rewritten', async () => {
    const r = rig();
    await r.sets.publish([members(WEB, '10.0.0.1')], []);
    for (const body of r.applied.values()) r.sets.observe(body.metadata.name, observedSlice(body));
    r.sets.observe(`${WEB.id}-0`, null);
    assert.deepEqual(r.retried, [[WEB.id]]);
    r.calls.length = 0;
    await r.sets.publish([members(WEB, '10.0.0.1')], []);
    assert.deepEqual(r.calls, [`slice ${WEB.id}-0 [10.0.0.1]`]);
  });

  it('a retired set loses all its slices', async () => {
    const r = rig();
    await r.sets.publish([members(WEB, '10.0.0.1', '10.0.0.2', '10.0.0.3')], []);
    r.calls.length = 0;
    await r.sets.publish([], [WEB.id]);
    assert.deepEqual(r.calls.sort(), [`delete slice ${WEB.id}-0`, `delete slice ${WEB.id}-1`]);
  });
});
