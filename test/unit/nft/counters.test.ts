/**
 * countersOf, podCountersOf, policyCountersOf and denyCountsOf: from
 * `nft -j list table` to counts per pod, direction and policy. On the real listing in
 * test/fixtures/nft (three packets sent into shop/web's egress deny path)
 * and on small hand-written listings for what the fixture lacks: a hashed
 * chain name, a rule rendered once per family, base-chain counters.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  countersOf,
  denyCountsOf,
  podCountersOf,
  policyCountersOf,
} from '../../../src/nft/counters.js';
import { parseRuleset, RulesetParseError } from '../../../src/nft/ruleset.js';

const fixture = (name: string): unknown =>
  JSON.parse(
    readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'nft', name), 'utf8'),
  ) as unknown;

/** A minimal `nft -j` listing: one rule per [chain, comment, packets]. */
function listing(rules: readonly (readonly [string, string | null, number])[]): unknown {
  return {
    nftables: [
      { metainfo: { version: '1.0.6', json_schema_version: 1 } },
      { table: { family: 'inet', name: 'nftpol', handle: 1 } },
      ...rules.map(([chain, comment, packets], i) => ({
        rule: {
          family: 'inet',
          table: 'nftpol',
          chain,
          handle: i + 10,
          ...(comment === null ? {} : { comment }),
          expr: [{ counter: { packets, bytes: packets * 60 } }, { accept: null }],
        },
      })),
    ],
  };
}

describe('countersOf', () => {
  it('attributes every pod-chain counter of a real listing to pod, direction and policy', () => {
    assert.deepEqual(countersOf(fixture('render-both.json')), [
      {
        chain: 'eg_shop_web',
        pod: 'shop/web',
        direction: 'egress',
        verdict: 'allowed',
        policy: 'shop/lockdown',
        rule: 0,
        packets: 0,
        bytes: 0,
      },
      {
        chain: 'eg_shop_web',
        pod: 'shop/web',
        direction: 'egress',
        verdict: 'denied',
        policy: null,
        rule: null,
        packets: 3,
        bytes: 90,
      },
      {
        chain: 'in_shop_web',
        pod: 'shop/web',
        direction: 'ingress',
        verdict: 'allowed',
        policy: 'shop/lockdown',
        rule: 0,
        packets: 0,
        bytes: 0,
      },
      {
        chain: 'in_shop_web',
        pod: 'shop/web',
        direction: 'ingress',
        verdict: 'denied',
        policy: null,
        rule: null,
        packets: 0,
        bytes: 0,
      },
    ]);
  });

  it('finds the pod of a hashed chain name from the chain deny comment', () => {
    const counts = countersOf(
      listing([
        ['in_h_0123abcd', 'team-a/allow-b ingress rule 2', 4],
        ['in_h_0123abcd', 'team-a/a-very-long-pod-name ingress denied', 9],
      ]),
    );
    assert.deepEqual(
      counts.map((c) => [c.chain, c.pod, c.verdict, c.policy, c.rule, c.packets]),
      [
        ['in_h_0123abcd', 'team-a/a-very-long-pod-name', 'allowed', 'team-a/allow-b', 2, 4],
        ['in_h_0123abcd', 'team-a/a-very-long-pod-name', 'denied', null, null, 9],
      ],
    );
  });

  it('leaves out base-chain counters and uncommented rules', () => {
    const counts = countersOf(
      listing([
        ['postrouting', 'fail-closed: pod not yet programmed', 5],
        ['postrouting', null, 7],
        ['in_a_b', 'a/b ingress denied', 1],
      ]),
    );
    assert.deepEqual(
      counts.map((c) => c.chain),
      ['in_a_b'],
    );
  });

  it('gives an empty list for an absent table and throws on what is not nft -j', () => {
    assert.deepEqual(countersOf(null), []);
    assert.throws(() => countersOf({ rules: [] }), RulesetParseError);
  });
});

describe('podCountersOf and policyCountersOf', () => {
  const counts = countersOf(
    listing([
      ['in_a_web', 'a/allow-lb ingress rule 0', 10],
      ['in_a_web', 'a/allow-lb ingress rule 0', 5], // the same rule, IPv6 line
      ['in_a_web', 'a/allow-mon ingress rule 1', 2],
      ['in_a_web', 'a/web ingress denied', 3],
      ['eg_a_web', 'a/egress-dns egress rule 0', 8],
      ['eg_a_web', 'a/web egress denied', 1],
      ['in_a_db', 'a/allow-lb ingress rule 1', 4],
      ['in_a_db', 'a/db ingress denied', 6],
    ]),
  );

  it('sums per pod into the compact status shape, pods sorted', () => {
    assert.deepEqual(podCountersOf(counts), {
      'a/db': { ingressAllowed: 4, ingressDenied: 6, egressAllowed: 0, egressDenied: 0 },
      'a/web': { ingressAllowed: 17, ingressDenied: 3, egressAllowed: 8, egressDenied: 1 },
    });
    assert.deepEqual(Object.keys(podCountersOf(counts)), ['a/db', 'a/web']);
  });

  it('sums allows per policy and direction over rules, families and pods', () => {
    assert.deepEqual(policyCountersOf(counts), [
      { policy: 'a/allow-lb', direction: 'ingress', packets: 19 },
      { policy: 'a/allow-mon', direction: 'ingress', packets: 2 },
      { policy: 'a/egress-dns', direction: 'egress', packets: 8 },
    ]);
  });
});

describe('denyCountsOf', () => {
  it('sums the deny-path counters per pod and direction and ignores allow rules', () => {
    assert.deepEqual(denyCountsOf(parseRuleset(fixture('render-both.json')).counters), [
      { pod: 'shop/web', direction: 'egress', packets: 3, bytes: 90 },
      { pod: 'shop/web', direction: 'ingress', packets: 0, bytes: 0 },
    ]);
  });
});
