/**
 * What the controller's informers keep: of a Pod every field the model
 * reads, including the timestamps that decide which of two pods claiming one
 * IP is enforced (client-node hands them over as Dates); of a NodeFirewall a
 * typed observation (hash or `tampered`, policy names, what was applied).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { observeNodeFirewall, stripPod } from '../../../src/controller/informers.js';
import { compressScript } from '../../../src/k8s/script-encoding.js';
import { hashScript } from '../../../src/nft/hash.js';
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

describe('observeNodeFirewall', () => {
  const script = 'table inet nftpol {\n}\n';
  const hash = hashScript(script);
  const applied = { type: 'Applied', status: 'True' };
  const rows: [string, unknown, ReturnType<typeof observeNodeFirewall>][] = [
    [
      'an intact script, applied, with its policies',
      {
        spec: { script, scriptHash: hash, summary: { policyNames: ['a/p', 'b/q'] } },
        status: { appliedHash: hash, conditions: [applied] },
      },
      { fingerprint: hash, policyNames: ['a/p', 'b/q'], appliedHash: hash, applied: true },
    ],
    [
      'a compressed script is decompressed to check its hash',
      { spec: { scriptGzip: compressScript(script), scriptHash: hash, summary: {} } },
      { fingerprint: hash, policyNames: [], appliedHash: null, applied: false },
    ],
    [
      'a script edited by hand is tampered',
      { spec: { script: 'flush ruleset\n', scriptHash: hash, summary: { policyNames: [] } } },
      { fingerprint: 'tampered', policyNames: [], appliedHash: null, applied: false },
    ],
    [
      'absent policyNames (server-side apply drops an empty list) is none; Applied=False is not applied',
      {
        spec: { script, scriptHash: hash, summary: { policies: 0 } },
        status: { appliedHash: hash, conditions: [{ type: 'Applied', status: 'False' }] },
      },
      { fingerprint: hash, policyNames: [], appliedHash: hash, applied: false },
    ],
  ];
  for (const [name, object, want] of rows)
    it(name, () => assert.deepEqual(observeNodeFirewall(object), want));
});
