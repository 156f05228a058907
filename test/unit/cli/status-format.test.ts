/**
 * status-format: the ages and durations `nftpol status` prints. The tables
 * themselves are checked from computed rows in status-report.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAge, formatDuration } from '../../../src/cli/status-format.js';

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
