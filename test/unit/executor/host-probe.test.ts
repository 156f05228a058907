/**
 * The host probe: version parsing and the floor, then the whole probe
 * against real nft in a network namespace (root only) and without nft.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isSupportedVersion,
  parseNftVersion,
  probeHost,
} from '../../../src/executor/host-probe.js';
import { listTable } from '../../../src/nft/apply.js';
import { runNft } from '../../../src/nft/nft.js';
import { NFT_SKIP_REASON, withNetns } from '../../support/nft-check.js';

describe('parseNftVersion and isSupportedVersion', () => {
  const ROWS: ReadonlyArray<{ text: string; version: number[] | null; supported?: boolean }> = [
    { text: 'nftables v1.0.6 (Lester Gooch #5)\n', version: [1, 0, 6], supported: true },
    { text: 'nftables v1.1.1 (Commodore Bullmoose #2)', version: [1, 1, 1], supported: true },
    { text: 'nftables v1.0.5 (Lester Gooch #4)', version: [1, 0, 5], supported: false },
    { text: 'nftables v0.9.8 (E.D.S.)', version: [0, 9, 8], supported: false },
    { text: 'nftables v2.0', version: [2, 0, 0], supported: true },
    { text: 'command not found', version: null },
  ];
  for (const row of ROWS) {
    it(`reads ${JSON.stringify(row.text.trim())}`, () => {
      const parsed = parseNftVersion(row.text);
      assert.deepEqual(parsed?.numbers ?? null, row.version);
      if (row.supported !== undefined)
        assert.equal(isSupportedVersion(parsed!.numbers), row.supported);
    });
  }
});

describe('probeHost', () => {
  it('finds a host without nft unusable, saying so', async () => {
    const result = await probeHost({
      // A short timeout: runNft's spawn timer outlives an ENOENT child (reported).
      nft: { command: ['/nonexistent/nft'], timeoutMs: 2_000 },
      readFile: () => Promise.resolve('1'),
    });
    assert.equal(result.usable, false);
    assert.match(result.usable ? '' : result.message, /Is nftables installed/);
  });

  it(
    'finds this kernel usable, commits nothing, and warns when forwarding is off',
    { skip: NFT_SKIP_REASON },
    async () => {
      await withNetns(async (nft) => {
        const result = await probeHost({ nft, readFile: () => Promise.resolve('0\n') });
        assert.equal(result.usable, true);
        assert.match(result.usable ? result.nftVersion : '', /^v1\./);
        assert.deepEqual(result.usable ? result.warnings : [], [
          'IPv4 forwarding is off (/proc/sys/net/ipv4/ip_forward = 0)',
        ]);
        assert.equal(await listTable(nft), null);
        assert.equal(
          (await runNft(['list', 'ruleset'], undefined, nft)).trim(),
          '',
          'the probe table was never committed',
        );
      });
    },
  );
});
