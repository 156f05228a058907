/**
 * Shared-set members read back from `nft -j` (shapes as nft 1.0.6 prints
 * them, captured in a network namespace), and the drift check on those
 * members: live elements are compared with the members loaded, as member
 * text, so nft's spelling of an IPv4-mapped address is no drift and a
 * missing or extra element is.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  liveSharedElements,
  liveSharedMembers,
  memberOfElement,
} from '../../../src/nft/live-members.js';
import { parseRuleset } from '../../../src/nft/ruleset.js';
import { diffTables, summarizeDiff } from '../../../src/nft/table-diff.js';

/** `nft -j list table inet nftpol` of a table with three shared sets and one other. */
function listing(pods4: unknown[], pods6: unknown[], port6: unknown[]): unknown {
  const set = (name: string, type: unknown, elem: unknown[]) => ({
    set: {
      family: 'inet',
      name,
      table: 'nftpol',
      type,
      handle: 2,
      ...(elem.length === 0 ? {} : { elem }),
    },
  });
  return {
    nftables: [
      { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
      { table: { family: 'inet', name: 'nftpol', handle: 1 } },
      set('pods_0123456789abcdef_4', 'ipv4_addr', pods4),
      set('pods_0123456789abcdef_6', 'ipv6_addr', pods6),
      set('port_fedcba9876543210_6', ['ipv6_addr', 'inet_proto', 'inet_service'], port6),
      set(
        'addrPort4_web',
        ['ipv4_addr', 'inet_proto', 'inet_service'],
        [{ concat: ['10.0.0.9', 'tcp', 80] }],
      ),
    ],
  };
}

const LIVE = parseRuleset(
  listing(
    ['10.0.0.2', '10.0.0.1'],
    ['::ffff:1.2.3.4', 'fd00::1'],
    [{ concat: ['fd00::7', 'udp', 53] }, { concat: ['fd00::7', 'sctp', 0] }],
  ),
).table!;

describe('memberOfElement', () => {
  const ROWS: ReadonlyArray<[string, unknown, string]> = [
    ['an IPv4 address', '10.0.0.1', '10.0.0.1'],
    ['an IPv6 address', 'fd00::1', 'fd00::1'],
    ['an IPv4-mapped address, in member text', '::ffff:1.2.3.4', '::ffff:102:304'],
    ['a concatenation', { concat: ['10.0.0.7', 'tcp', 8080] }, '10.0.0.7 . tcp . 8080'],
    ['a protocol printed as a number', { concat: ['fd00::7', 132, 9] }, 'fd00::7 . sctp . 9'],
    ['a prefix (no member): its JSON', { prefix: { addr: '10.0.0.0', len: 8 } }, ''],
    ['an address that does not parse: its JSON', 'not-an-ip', ''],
  ];
  for (const [name, element, want] of ROWS) {
    it(name, () => {
      const json = JSON.stringify(element);
      assert.equal(memberOfElement(json), want === '' ? json : want);
    });
  }
});

describe('liveSharedElements and liveSharedMembers', () => {
  it('lists the shared sets by nft name, in member text, and no other set', () => {
    assert.deepEqual(
      [...liveSharedElements(LIVE)].map(([k, v]) => [k, [...v].sort()]),
      [
        ['pods_0123456789abcdef_4', ['10.0.0.1', '10.0.0.2']],
        ['pods_0123456789abcdef_6', ['::ffff:102:304', 'fd00::1']],
        ['port_fedcba9876543210_6', ['fd00::7 . sctp . 0', 'fd00::7 . udp . 53']],
      ],
    );
  });

  it('merges both families of an id, IPv4 first', () => {
    const byId = liveSharedMembers(LIVE);
    assert.deepEqual([...byId.keys()], ['pods-0123456789abcdef', 'port-fedcba9876543210']);
    assert.deepEqual(byId.get('pods-0123456789abcdef')?.slice(0, 2).sort(), [
      '10.0.0.1',
      '10.0.0.2',
    ]);
    assert.equal(byId.get('pods-0123456789abcdef')?.length, 4);
  });
});

describe('diffTables with expected members', () => {
  const EXPECTED = new Map<string, readonly string[]>([
    ['pods_0123456789abcdef_4', ['10.0.0.1', '10.0.0.2']],
    ['pods_0123456789abcdef_6', ['::ffff:102:304', 'fd00::1']],
    ['port_fedcba9876543210_6', ['fd00::7 . sctp . 0', 'fd00::7 . udp . 53']],
  ]);
  /** The reference read after the full load, before any delta: its members are stale. */
  const REFERENCE = parseRuleset(listing(['10.0.0.1'], [], [])).table!;

  it('compares shared sets with the members loaded, not with the reference', () => {
    assert.equal(diffTables(REFERENCE, LIVE, EXPECTED), null);
    assert.deepEqual(diffTables(REFERENCE, LIVE)?.setsChanged, [
      'pods_0123456789abcdef_4',
      'pods_0123456789abcdef_6',
      'port_fedcba9876543210_6',
    ]);
  });

  it('finds a member deleted by hand', () => {
    const live = parseRuleset(
      listing(
        ['10.0.0.2'],
        ['::ffff:1.2.3.4', 'fd00::1'],
        [{ concat: ['fd00::7', 'udp', 53] }, { concat: ['fd00::7', 'sctp', 0] }],
      ),
    ).table!;
    const diff = diffTables(REFERENCE, live, EXPECTED);
    assert.deepEqual(diff?.setsChanged, ['pods_0123456789abcdef_4']);
    assert.equal(summarizeDiff(diff), 'sets changed: pods_0123456789abcdef_4');
  });

  it('finds a member added by hand, even when one was deleted too', () => {
    const live = parseRuleset(
      listing(
        ['10.0.0.2', '10.0.0.1'],
        ['::ffff:1.2.3.4', 'fd00::1'],
        [{ concat: ['fd00::7', 'udp', 53] }, { concat: ['fd00::7', 'sctp', 1] }],
      ),
    ).table!;
    assert.deepEqual(diffTables(REFERENCE, live, EXPECTED)?.setsChanged, [
      'port_fedcba9876543210_6',
    ]);
  });

  it('still compares the other sets with the reference', () => {
    const tampered = parseRuleset(listing(['10.0.0.1'], [], [])).table!;
    const web = tampered.sets['addrPort4_web']!;
    const live = { ...LIVE, sets: { ...LIVE.sets, addrPort4_web: { ...web, elements: [] } } };
    assert.deepEqual(diffTables(REFERENCE, live, EXPECTED)?.setsChanged, ['addrPort4_web']);
  });
});
