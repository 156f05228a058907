/**
 * parseRuleset on real `nft -j list table` output captured from a network
 * namespace (test/fixtures/nft: render-both.nft loaded, three packets sent
 * into a deny path); and, as root, that reloading the same script gives a
 * different listing (handles) but the same normalized table.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { applyScript, listTable } from '../../../src/nft/apply.js';
import { parseRuleset, RulesetParseError } from '../../../src/nft/ruleset.js';
import { diffTables } from '../../../src/nft/table-diff.js';
import { NFT_SKIP_REASON, withNetns } from '../../support/nft-check.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'nft');
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as unknown;
const GOLDEN = readFileSync(
  join(import.meta.dirname, '..', '..', 'golden', 'render-both.nft'),
  'utf8',
);

describe('parseRuleset', () => {
  const parsed = parseRuleset(fixture('render-both.json'));
  const table = parsed.table!;

  it('lists every chain, base chains with their hook and priority', () => {
    assert.deepEqual(Object.keys(table.chains).sort(), [
      'eg_shop_web',
      'in_shop_web',
      'input',
      'postrouting',
    ]);
    assert.equal(table.chains['in_shop_web']?.base, null);
    assert.equal(
      table.chains['postrouting']?.base,
      '{"hook":"postrouting","policy":"accept","prio":95,"type":"filter"}',
    );
    assert.equal(table.chains['postrouting']?.rules.length, 7);
  });

  it('lists sets and maps with sorted elements', () => {
    assert.deepEqual(Object.keys(table.sets).sort(), [
      'addrPort4_dns',
      'addrPort4_web',
      'egress4',
      'egress6',
      'ingress4',
      'ingress6',
    ]);
    assert.equal(table.sets['addrPort4_dns']?.elements.length, 2);
    assert.deepEqual(table.sets['ingress6']?.elements, []);
    assert.match(table.sets['ingress4']?.definition ?? '', /"map":"verdict"/);
  });

  it('drops handles and counter figures from the normalized rules', () => {
    const text = JSON.stringify(table);
    assert.doesNotMatch(text, /handle|packets|bytes/);
    assert.match(
      table.chains['eg_shop_web']?.rules[1] ?? '',
      /"comment":"shop\/web egress denied","expr":\[\{"counter":null\},\{"drop":null\}\]/,
    );
  });

  it('keeps the counters, with their chain and comment', () => {
    assert.deepEqual(parsed.counters, [
      { chain: 'eg_shop_web', comment: 'shop/lockdown egress rule 0', packets: 0, bytes: 0 },
      { chain: 'eg_shop_web', comment: 'shop/web egress denied', packets: 3, bytes: 90 },
      { chain: 'in_shop_web', comment: 'shop/lockdown ingress rule 0', packets: 0, bytes: 0 },
      { chain: 'in_shop_web', comment: 'shop/web ingress denied', packets: 0, bytes: 0 },
    ]);
  });

  it('gives null for an absent table', () => {
    assert.deepEqual(parseRuleset(null), { table: null, counters: [] });
    assert.equal(parseRuleset({ nftables: [{ metainfo: { version: '1.0.6' } }] }).table, null);
  });

  const BAD: ReadonlyArray<[string, unknown]> = [
    ['a string', 'table inet nftpol'],
    ['an object without nftables', { tables: [] }],
    ['a rule without a chain', { nftables: [{ table: {} }, { rule: { expr: [] } }] }],
  ];
  for (const [name, json] of BAD) {
    it(`rejects ${name}`, () => assert.throws(() => parseRuleset(json), RulesetParseError));
  }
});

describe('parseRuleset on live nft', { skip: NFT_SKIP_REASON }, () => {
  it('normalizes two loads of the same script to the same table although handles differ', async () => {
    await withNetns(async (nft) => {
      await applyScript(GOLDEN, nft);
      const first = await listTable(nft);
      await applyScript(GOLDEN, nft);
      const second = await listTable(nft);
      assert.notDeepEqual(first, second, 'the raw listings differ (handles)');
      assert.equal(diffTables(parseRuleset(first).table!, parseRuleset(second).table), null);
    });
  });
});
