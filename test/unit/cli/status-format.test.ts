/**
 * status-format: the ages and durations `nftpol status` prints, and the one
 * line it says when ClusterNetworkPolicies could not be read. The tables
 * themselves are checked from computed rows in status-report.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  clusterPoliciesUnreadableLine,
  formatAge,
  formatDuration,
} from '../../../src/cli/status-format.js';
import type { LiveClusterPolicies } from '../../../src/cli/status-report.js';

describe('formatAge and formatDuration', () => {
  const rows: [number | null, string, string][] = [
    [null, '-', '-'],
    [0.25, '0s', '<1s'],
    [42.34, '42s', '42.3s'],
    [192, '3m', '3m12s'],
    [7300, '2h', '121m40s'],
    [200000, '2d', '3333m20s'],
  ];
  for (const [seconds, age, duration] of rows) {
    it(`prints ${String(seconds)} s as age ${age} and duration ${duration}`, () => {
      assert.equal(formatAge(seconds), age);
      assert.equal(formatDuration(seconds), duration);
    });
  }
});

describe('clusterPoliciesUnreadableLine', () => {
  const rows: [string, LiveClusterPolicies | null, string | null][] = [
    ['not asked for (a NetworkPolicy was selected): nothing', null, null],
    ['listed, even none: nothing', { kind: 'listed', items: [] }, null],
    [
      'no CRD: says so, and that NetworkPolicies alone are shown',
      { kind: 'unreadable', why: 'the ClusterNetworkPolicy CRD is not installed (404)' },
      'ClusterNetworkPolicies not read (the ClusterNetworkPolicy CRD is not installed (404)): only NetworkPolicies are shown',
    ],
    [
      'forbidden: carries the server message',
      { kind: 'unreadable', why: '403 Forbidden: clusternetworkpolicies is forbidden' },
      'ClusterNetworkPolicies not read (403 Forbidden: clusternetworkpolicies is forbidden): only NetworkPolicies are shown',
    ],
  ];
  for (const [name, read, want] of rows) {
    it(name, () => {
      assert.equal(clusterPoliciesUnreadableLine(read), want);
    });
  }
});
