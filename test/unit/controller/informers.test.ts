/**
 * What the controller's informers keep of a Pod: every field the model reads,
 * including the timestamps that decide which of two pods claiming one IP is
 * enforced (client-node hands them over as Dates).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripPod } from '../../../src/controller/informers.js';
import { clusterFromObjects } from '../../../src/policy/from-k8s.js';

const pod = (name: string, metadata: Record<string, unknown>) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'a', ...metadata },
  spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] },
  status: { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }] },
});

describe('stripPod', () => {
  it('keeps creationTimestamp and deletionTimestamp, Dates as RFC 3339 text', () => {
    const stripped = stripPod(
      pod('old', {
        creationTimestamp: new Date('2026-11-30T10:00:00Z'),
        deletionTimestamp: new Date('2026-11-30T11:00:00Z'),
      }),
    );
    assert.deepEqual(
      {
        creationTimestamp: stripped.metadata?.creationTimestamp,
        deletionTimestamp: stripped.metadata?.deletionTimestamp,
      },
      {
        creationTimestamp: '2026-11-30T10:00:00.000Z',
        deletionTimestamp: '2026-11-30T11:00:00.000Z',
      },
    );
  });

  it('lets the model enforce a shared IP for the pod that is not terminating', () => {
    const objects = [
      pod('a-first', {
        creationTimestamp: new Date('2026-11-30T12:00:00Z'),
        deletionTimestamp: new Date('2026-11-30T12:30:00Z'),
      }),
      pod('running', { creationTimestamp: new Date('2026-11-30T09:00:00Z') }),
    ].map((o, i) => ({
      source: `pods#${i}`,
      object: { ...stripPod(o), apiVersion: 'v1', kind: 'Pod' },
    }));
    const { problems } = clusterFromObjects(objects);
    // Without the timestamps both would tie, and a/a-first would win by name.
    assert.ok(
      problems.some((p) => /they are a\/running's \(a\/a-first is terminating\)/.test(p.message)),
      problems.map((p) => p.message).join('\n'),
    );
  });
});
