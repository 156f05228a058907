/**
 * EnforceTracker: when a policy change counts as enforced, fed the way the
 * informers feed it (model sink calls with stripped NodeFirewalls) and
 * checked explicitly (`check()`), with a set clock and a real histogram.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { EnforceTracker } from '../../../src/controller/enforce-tracker.js';
import type { Clock } from '../../../src/telemetry/clock.js';
import type {
  ModelSink,
  NodeFirewallObservation,
  ObjectRef,
} from '../../../src/controller/informers.js';
import { policy } from '../../support/builders.js';

const H1 = 'sha256:1';
const H2 = 'sha256:2';

/** What the informer observes of a NodeFirewall. */
function observed(
  scriptHash: string,
  policyNames: string[],
  applied: { hash: string; ok: boolean } | null,
): NodeFirewallObservation {
  return {
    fingerprint: scriptHash,
    policyNames,
    appliedHash: applied?.hash ?? null,
    applied: applied?.ok ?? false,
  };
}

const ref = (name: string, namespace = ''): ObjectRef => ({ name, namespace, uid: name });

function setup() {
  let now = 1_000_000;
  const desired = new Map<string, string>();
  let idle = true;
  const observed: [string, number][] = [];
  const clock: Clock = { now: () => now, setTimer: () => null, clearTimer: () => undefined };
  const registry = new Registry();
  const histogram = new Histogram({ name: 'h', help: 'h', registers: [registry] });
  const tracker = new EnforceTracker({
    clock,
    histogram,
    isActive: () => true,
    isIdle: () => idle,
    desiredHash: (node) => desired.get(node),
    onEnforced: (p, s) => observed.push([p, s]),
  });
  const noop = (): void => undefined;
  const inner: ModelSink = {
    pod: noop,
    namespace: noop,
    policy: noop,
    node: noop,
    addressSet: noop,
    clusterPolicy: noop,
    nodeFirewall: noop,
  };
  const sink = tracker.wrap(inner);
  return {
    tracker,
    sink,
    desired,
    observed,
    advance: (ms: number) => (now += ms),
    setIdle: (v: boolean) => (idle = v),
  };
}

describe('EnforceTracker', () => {
  it('observes the time from a policy change to every carrying node applying the new script', () => {
    const t = setup();
    t.desired.set('n1', H1).set('n2', H1);
    t.sink.nodeFirewall(ref('n1'), observed(H1, [], { hash: H1, ok: true }));
    t.sink.nodeFirewall(ref('n2'), observed(H1, [], { hash: H1, ok: true }));
    t.sink.policy(ref('web', 'shop'), policy('shop/web'), []);
    assert.deepEqual(t.tracker.pendingPolicies, ['shop/web']);

    // The controller renders and writes H2 for both nodes; the informer sees n1 first.
    t.desired.set('n1', H2).set('n2', H2);
    t.advance(400);
    t.sink.nodeFirewall(ref('n1'), observed(H2, ['shop/web'], { hash: H1, ok: true }));
    assert.deepEqual(t.tracker.check(), [], 'n2 not yet seen with the new hash');
    t.sink.nodeFirewall(ref('n2'), observed(H2, ['shop/web'], { hash: H1, ok: true }));
    assert.deepEqual(t.tracker.check(), [], 'neither node applied H2 yet');
    t.advance(600);
    t.sink.nodeFirewall(ref('n1'), observed(H2, ['shop/web'], { hash: H2, ok: true }));
    assert.deepEqual(t.tracker.check(), [], 'n2 still applies H1');
    t.advance(500);
    t.sink.nodeFirewall(ref('n2'), observed(H2, ['shop/web'], { hash: H2, ok: true }));
    assert.deepEqual(t.tracker.check(), ['shop/web']);
    assert.deepEqual(t.observed, [['shop/web', 1.5]]);
    assert.deepEqual(t.tracker.pendingPolicies, []);
    t.tracker.stop();
  });

  it('waits while the engine is busy, and for a node whose Applied is False', () => {
    const t = setup();
    t.desired.set('n1', H2);
    t.sink.policy(ref('web', 'shop'), policy('shop/web'), []);
    t.sink.nodeFirewall(ref('n1'), observed(H2, ['shop/web'], { hash: H2, ok: false }));
    assert.deepEqual(t.tracker.check(), []);
    t.setIdle(false);
    t.sink.nodeFirewall(ref('n1'), observed(H2, ['shop/web'], { hash: H2, ok: true }));
    assert.deepEqual(t.tracker.check(), [], 'busy engine: not decidable');
    t.setIdle(true);
    assert.deepEqual(t.tracker.check(), ['shop/web']);
    t.tracker.stop();
  });

  it('starts nothing for a relisted unchanged policy, and drops a change that no node carries', () => {
    const t = setup();
    t.desired.set('n1', H1);
    t.sink.nodeFirewall(ref('n1'), observed(H1, [], { hash: H1, ok: true }));
    t.sink.policy(ref('web', 'shop'), policy('shop/web'), []);
    assert.deepEqual(t.tracker.check(), [], 'on no node: nothing to observe');
    assert.deepEqual(t.tracker.pendingPolicies, []);
    t.sink.policy(ref('web', 'shop'), policy('shop/web'), []); // same model again
    assert.deepEqual(t.tracker.pendingPolicies, []);
    assert.deepEqual(t.observed, []);
    t.tracker.stop();
  });
});
