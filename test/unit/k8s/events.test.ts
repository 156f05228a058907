/**
 * The Warning Event recorder shared by NetworkPolicy and Node problems: where
 * each kind's Events go, what they reference, the per-object-and-reason rate
 * limit, and that a failing API call is only logged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CoreV1Event } from '@kubernetes/client-node';
import {
  MAX_EVENT_MESSAGE,
  nodeObject,
  policyObject,
  WarningEvents,
  type EventApi,
} from '../../../src/k8s/events.js';
import { createLogger } from '../../../src/telemetry/log.js';
import { FakeClock, settle } from '../../support/fake-clock.js';

function recorder(fail = false): {
  events: WarningEvents;
  sent: Array<{ namespace: string; body: CoreV1Event }>;
  clock: FakeClock;
} {
  const sent: Array<{ namespace: string; body: CoreV1Event }> = [];
  const api: EventApi = {
    createNamespacedEvent: (param) => {
      sent.push(param);
      return fail ? Promise.reject(new Error('403 Forbidden')) : Promise.resolve({});
    },
  };
  const clock = new FakeClock();
  const log = createLogger({ component: 'test', level: 'silent' });
  const events = new WarningEvents({ api, identity: 'ctl-0', intervalMs: 1000, log, clock });
  return { events, sent, clock };
}

describe('WarningEvents', () => {
  it('puts a NetworkPolicy Event in its namespace, referencing the policy', () => {
    const { events, sent } = recorder();
    events.warn(policyObject({ namespace: 'shop', name: 'deny' }, 'u1'), 'InvalidPolicy', 'bad');
    assert.equal(sent[0]?.namespace, 'shop');
    assert.deepEqual(sent[0]?.body.involvedObject, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      namespace: 'shop',
      name: 'deny',
      uid: 'u1',
    });
    assert.equal(sent[0]?.body.type, 'Warning');
    assert.equal(sent[0]?.body.reportingInstance, 'ctl-0');
    assert.match(sent[0]?.body.metadata?.name ?? '', /^deny\.[0-9a-f]{16}$/);
  });

  it('puts a Node Event in namespace default, without a namespace or an unknown uid', () => {
    const { events, sent } = recorder();
    events.warn(nodeObject('n1', ''), 'RenderFailed', 'x'.repeat(5000));
    assert.equal(sent[0]?.namespace, 'default');
    assert.deepEqual(sent[0]?.body.involvedObject, { apiVersion: 'v1', kind: 'Node', name: 'n1' });
    assert.equal(sent[0]?.body.message?.length, MAX_EVENT_MESSAGE);
  });

  it('sends at most one Event per object and reason per interval', async () => {
    const { events, sent, clock } = recorder();
    const n1 = nodeObject('n1', 'u');
    assert.equal(events.warn(n1, 'RenderFailed', 'a'), true);
    assert.equal(events.warn(n1, 'RenderFailed', 'b'), false, 'same object and reason');
    assert.equal(events.warn(nodeObject('n2', 'u'), 'RenderFailed', 'c'), true, 'other object');
    assert.equal(
      events.warn(policyObject({ namespace: '', name: 'n1' }, ''), 'RenderFailed', 'd'),
      true,
      'same name, other kind',
    );
    await clock.advance(1000);
    assert.equal(events.warn(n1, 'RenderFailed', 'e'), true, 'after the interval');
    assert.deepEqual(
      sent.map((s) => s.body.message),
      ['a', 'c', 'd', 'e'],
    );
  });

  it('a failing API call is logged, not thrown', async () => {
    const { events, sent } = recorder(true);
    assert.equal(events.warn(nodeObject('n1', ''), 'RenderFailed', 'a'), true);
    await settle();
    assert.equal(sent.length, 1);
  });
});
