/**
 * The v2 composed script and member delta on the real kernel (nft 1.0.6):
 * a rules script that declares shared sets of both kinds and both families,
 * with its `add element` lines after the table block in the same file, loads
 * in one `nft -f`; `nft -j list set` then shows exactly the members; a delta
 * applies; and a delta with one bad element (deleting an element that is not
 * there) fails as a whole, leaving every set exactly as it was — the
 * atomicity the executor's delta-then-fall-back relies on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyScript, NftError } from '../../src/nft/apply.js';
import { composeElements, composeScript, memberDelta, sortMembers } from '../../src/nft/compose.js';
import { runNft, type NftOptions } from '../../src/nft/nft.js';
import { formatIp, parseIp } from '../../src/policy/cidr.js';
import { NFT_SKIP_REASON, withNetns } from '../support/nft-check.js';

const PODS = 'pods-0123456789abcdef';
const PORT = 'port-fedcba9876543210';
const SETS = [
  'pods_0123456789abcdef_4',
  'pods_0123456789abcdef_6',
  'port_fedcba9876543210_4',
  'port_fedcba9876543210_6',
];

/** A rules script declaring the four sets as render does, each used by a rule. */
const RULES = `add table inet nftpol
delete table inet nftpol
table inet nftpol {
	set pods_0123456789abcdef_4 {
		type ipv4_addr
	}

	set pods_0123456789abcdef_6 {
		type ipv6_addr
	}

	set port_fedcba9876543210_4 {
		type ipv4_addr . inet_proto . inet_service
	}

	set port_fedcba9876543210_6 {
		type ipv6_addr . inet_proto . inet_service
	}

	chain eg_a_client {
		ip daddr @pods_0123456789abcdef_4 return
		ip6 daddr @pods_0123456789abcdef_6 return
		ip daddr . meta l4proto . th dport @port_fedcba9876543210_4 return
		ip6 daddr . meta l4proto . th dport @port_fedcba9876543210_6 return
		counter drop
	}
}
`;

/** `nft -j list set` → the set's elements as member text, sorted. */
async function listMembers(nft: NftOptions, set: string): Promise<string[]> {
  const out = await runNft(['-j', 'list', 'set', 'inet', 'nftpol', set], undefined, nft);
  const doc = JSON.parse(out) as { nftables: Array<{ set?: { elem?: unknown[] } }> };
  const elem = doc.nftables.find((o) => o.set !== undefined)?.set?.elem ?? [];
  const addr = (a: unknown): string => formatIp(parseIp(String(a)));
  return sortMembers(
    elem.map((e) => {
      if (typeof e === 'string') return addr(e);
      const [ip, proto, port] = (e as { concat: unknown[] }).concat;
      return `${addr(ip)} . ${String(proto)} . ${String(port)}`;
    }),
  );
}

async function listAll(nft: NftOptions): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const set of SETS) out[set] = await listMembers(nft, set);
  return out;
}

const expected = (members: ReadonlyMap<string, readonly string[]>): Record<string, string[]> =>
  Object.fromEntries([...composeElements(RULES, members)].map(([k, v]) => [k, [...v]]));

const BEFORE = new Map<string, readonly string[]>([
  [PODS, ['10.0.0.2', 'fd00::2', '10.0.0.1', 'fd00::1', '::ffff:102:304']],
  [PORT, ['10.0.0.7 . tcp . 8080', 'fd00::7 . udp . 53', 'fd00::7 . sctp . 0']],
]);
const AFTER = new Map<string, readonly string[]>([
  [PODS, ['10.0.0.1', '10.0.0.3', 'fd00::1']],
  [PORT, ['10.0.0.7 . tcp . 8080', '10.0.0.7 . tcp . 8081', 'fd00::7 . udp . 53']],
]);

describe('composed scripts and member deltas on the kernel', { skip: NFT_SKIP_REASON }, () => {
  it('loads the rules and the add element lines in one nft -f; the sets hold exactly the members', async () => {
    await withNetns(async (nft) => {
      const script = composeScript(RULES, BEFORE);
      assert.match(script, /^}\nadd element inet nftpol pods_0123456789abcdef_4 \{/m);
      await applyScript(script, nft);
      assert.deepEqual(await listAll(nft), expected(BEFORE));
    });
  });

  it('applies a delta: the sets then hold exactly the new members', async () => {
    await withNetns(async (nft) => {
      await applyScript(composeScript(RULES, BEFORE), nft);
      const delta = memberDelta(RULES, BEFORE, AFTER);
      assert.ok(delta !== null);
      await applyScript(delta, nft);
      assert.deepEqual(await listAll(nft), expected(AFTER));
    });
  });

  it('rejects a delta with one bad element as a whole: every set keeps its members', async () => {
    await withNetns(async (nft) => {
      await applyScript(composeScript(RULES, BEFORE), nft);
      const good = memberDelta(RULES, BEFORE, AFTER);
      const bad = `${good}delete element inet nftpol pods_0123456789abcdef_4 { 10.9.9.9 }\n`;
      await assert.rejects(
        applyScript(bad, nft),
        (err: unknown) => err instanceof NftError && err.isNotFound,
      );
      assert.deepEqual(await listAll(nft), expected(BEFORE));
    });
  });

  it('loads thousands of members, chunked, and a full reload replaces them all', async () => {
    await withNetns(async (nft) => {
      const many = Array.from({ length: 5000 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
      const big = new Map<string, readonly string[]>([[PODS, many]]);
      await applyScript(composeScript(RULES, big), nft);
      assert.equal((await listMembers(nft, 'pods_0123456789abcdef_4')).length, 5000);
      await applyScript(composeScript(RULES, AFTER), nft);
      assert.deepEqual(await listAll(nft), expected(AFTER));
    });
  });
});
