/**
 * diffTables and summarizeDiff on real `nft -j list table` output captured
 * from a network namespace (test/fixtures/nft: render-both.nft loaded; then
 * a rule deleted, an element and a chain added by hand).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseRuleset } from '../../../src/nft/ruleset.js';
import { diffTables, summarizeDiff } from '../../../src/nft/table-diff.js';

const fixture = (name: string): unknown =>
  JSON.parse(
    readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'nft', name), 'utf8'),
  ) as unknown;

describe('diffTables', () => {
  const reference = parseRuleset(fixture('render-both.json')).table!;
  const drifted = parseRuleset(fixture('render-both-drifted.json')).table!;

  it('finds no drift between a table and itself', () => {
    assert.equal(diffTables(reference, reference), null);
  });

  it('names the removed rule, the added chain and the changed set', () => {
    const diff = diffTables(reference, drifted);
    assert.deepEqual(diff, {
      tableMissing: false,
      chainsAdded: ['extra'],
      chainsRemoved: [],
      chainsChanged: [],
      rules: [{ chain: 'in_shop_web', added: 0, removed: 1, reordered: false }],
      setsAdded: [],
      setsRemoved: [],
      setsChanged: ['addrPort4_web'],
    });
    assert.equal(
      summarizeDiff(diff),
      'chains added: extra; rules in in_shop_web: 1 removed; sets changed: addrPort4_web',
    );
  });

  it('reports a missing table', () => {
    const diff = diffTables(reference, null);
    assert.equal(diff?.tableMissing, true);
    assert.equal(summarizeDiff(diff), 'table inet nftpol is missing');
  });

  it('sees reordered rules', () => {
    const chain = reference.chains['postrouting']!;
    const swapped = {
      ...reference,
      chains: { ...reference.chains, postrouting: { ...chain, rules: [...chain.rules].reverse() } },
    };
    assert.deepEqual(diffTables(reference, swapped)?.rules, [
      { chain: 'postrouting', added: 0, removed: 0, reordered: true },
    ]);
  });
});
