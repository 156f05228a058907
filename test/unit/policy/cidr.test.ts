/**
 * cidr: the legacy spellings the API server still accepts. Leading zeros in
 * IPv4 octets and in prefix lengths are decimal (Go before 1.17, kept by
 * k8s.io/utils ParseCIDRSloppy), never octal; anything else stays invalid.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { strictCidrSpelling } from '../../../src/policy/cidr.js';

describe('strictCidrSpelling', () => {
  const rows: { given: string; strict: string | null; why: string }[] = [
    { given: '010.0.0.0/8', strict: '10.0.0.0/8', why: 'a leading zero is decimal, not octal' },
    { given: '10.0.0.0/08', strict: '10.0.0.0/8', why: 'a prefix length with a leading zero' },
    { given: '0010.000.00.001/0032', strict: '10.0.0.1/32', why: 'many leading zeros' },
    { given: 'fd00::/064', strict: 'fd00::/64', why: 'an IPv6 prefix length' },
    { given: '::ffff:010.0.0.1/128', strict: '::ffff:10.0.0.1/128', why: 'an IPv4 tail' },
    { given: '10.0.0.0/8', strict: null, why: 'already strict' },
    { given: '0.0.0.0/0', strict: null, why: 'a lone zero is no leading zero' },
    { given: '0300.0.0.0/8', strict: null, why: '300 is out of range either way' },
    { given: '10.0.0.0/033', strict: null, why: 'a prefix length out of range either way' },
    { given: '010.0.0.0', strict: null, why: 'no prefix length' },
    { given: '010.0.0/8', strict: null, why: 'three octets' },
    { given: '10.0.0.0/+8', strict: null, why: 'a sign is no digit' },
  ];
  for (const row of rows) {
    it(`${row.given} → ${String(row.strict)}: ${row.why}`, () => {
      assert.equal(strictCidrSpelling(row.given), row.strict);
    });
  }
});
