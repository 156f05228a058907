import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NftError, runNft } from '../../../src/nft/nft.js';
import { applyScript, checkScript, deleteTable, listTable } from '../../../src/nft/apply.js';
import { renderScript } from '../../../src/nft/render.js';
import type { Allow, FirewallPlan } from '../../../src/policy/plan.js';
import { NFT_SKIP_REASON, withNetns } from '../../support/nft-check.js';

/** A one-pod plan: shop/web accepts TCP 8080 from 10.244.2.0/24. */
function webPlan(over: Partial<FirewallPlan> = {}): FirewallPlan {
  return {
    node: 'node-1',
    chains: [
      {
        name: 'in_shop_web',
        pod: 'shop/web',
        direction: 'ingress',
        ips: ['10.244.1.5'],
        policies: ['shop/allow'],
        allows: [
          {
            policy: 'shop/allow',
            rule: 0,
            family: 'ip',
            peer: { kind: 'cidrs', ranges: [{ first: '10.244.2.0', last: '10.244.2.255' }] },
            ports: {
              kind: 'ports',
              ports: [{ protocol: 'TCP', port: { first: 8080, last: 8080 } }],
            },
          },
        ],
      },
    ],
    sets: [],
    policies: ['shop/allow'],
    localPods: 1,
    failClosed: null,
    ...over,
  };
}

/**
 * A script the parser accepts but the kernel rejects (EEXIST): overlapping
 * elements in the inline concatenated set of an allow's ports.
 */
function kernelRejectedScript(): string {
  const plan = webPlan();
  const [chain] = plan.chains;
  const [allow] = chain?.allows ?? [];
  assert.ok(chain && allow);
  const overlapping: Allow = {
    ...allow,
    ports: {
      kind: 'ports',
      ports: [
        { protocol: 'TCP', port: { first: 8000, last: 8090 } },
        { protocol: 'TCP', port: { first: 8080, last: 8080 } },
      ],
    },
  };
  return renderScript({ ...plan, chains: [{ ...chain, allows: [overlapping] }] }).script;
}

/** Another tool's table, which nftpol must never touch. */
const OTHER_TABLE = `table inet other {
	set blocked {
		type ipv4_addr
		elements = { 192.0.2.1 }
	}
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr @blocked counter drop
	}
}
table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth0" masquerade
	}
}
`;

describe('runNft', () => {
  it('says nftables may not be installed when the binary cannot be executed', async () => {
    await assert.rejects(
      runNft(['--version'], undefined, { command: ['/nonexistent/nft'] }),
      (e) =>
        e instanceof NftError &&
        e.failure === 'notInstalled' &&
        e.message === "unable to execute '/nonexistent/nft'. Is nftables installed?" &&
        !e.isNotFound,
    );
  });

  it('says the same when a command prefix cannot find nft', { skip: NFT_SKIP_REASON }, () =>
    withNetns(async (_nft, netns) => {
      await assert.rejects(
        runNft(['list', 'ruleset'], undefined, {
          command: ['ip', 'netns', 'exec', netns, 'nft-does-not-exist'],
        }),
        (e) =>
          e instanceof NftError &&
          e.failure === 'notInstalled' &&
          /Is nftables installed\?/.test(e.message),
      );
    }),
  );

  it('returns stdout of a successful call', { skip: NFT_SKIP_REASON }, async () => {
    assert.match(await runNft(['--version']), /^nftables v\d+\.\d+\.\d+/);
  });

  it(
    'keeps nft stderr and exit code when the script has a syntax error',
    { skip: NFT_SKIP_REASON },
    () =>
      withNetns(async (nft) => {
        const err = await runNft(
          ['-f', '-'],
          'table inet nftpol { chain c { bogus\n}\n}\n',
          nft,
        ).then(
          () => assert.fail('expected nft to fail'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof NftError);
        assert.equal(err.failure, 'exited');
        assert.equal(err.exitCode, 1);
        assert.match(err.stderr, /Error: syntax error/);
        assert.match(err.message, /exited 1: .*syntax error/);
        assert.deepEqual(err.argv.slice(-2), ['-f', '-']);
        assert.equal(err.isNotFound, false);
        assert.equal(err.isAlreadyExists, false);
      }),
  );

  it('classifies a missing object as isNotFound', { skip: NFT_SKIP_REASON }, () =>
    withNetns(async (nft) => {
      await assert.rejects(
        runNft(['list', 'table', 'inet', 'nftpol'], undefined, nft),
        (e) => e instanceof NftError && e.isNotFound && !e.isAlreadyExists,
      );
    }),
  );

  it('classifies creating an existing object as isAlreadyExists', { skip: NFT_SKIP_REASON }, () =>
    withNetns(async (nft) => {
      await runNft(['create', 'table', 'inet', 'nftpol'], undefined, nft);
      await assert.rejects(
        runNft(['create', 'table', 'inet', 'nftpol'], undefined, nft),
        (e) => e instanceof NftError && e.isAlreadyExists && !e.isNotFound,
      );
    }),
  );
});

describe('apply, check, list and delete on a real kernel', { skip: NFT_SKIP_REASON }, () => {
  it('lists nothing (null) before the first apply, and the table after it', () =>
    withNetns(async (nft) => {
      assert.equal(await listTable(nft), null);
      await applyScript(renderScript(webPlan()).script, nft);
      const listed = JSON.stringify(await listTable(nft));
      assert.match(listed, /"table":\{"family":"inet","name":"nftpol"/);
      assert.match(listed, /"chain":\{[^}]*"name":"in_shop_web"/);
      assert.match(listed, /"right":\{"prefix":\{"addr":"10\.244\.2\.0","len":24\}\}/);
      assert.match(listed, /\{"concat":\["tcp",8080\]\}/);
    }));

  it('checkScript validates without committing anything', () =>
    withNetns(async (nft) => {
      await checkScript(renderScript(webPlan()).script, nft);
      assert.equal(await listTable(nft), null);
    }));

  it('checkScript rejects what the kernel would reject, with nft stderr', () =>
    withNetns(async (nft) => {
      await assert.rejects(
        checkScript(kernelRejectedScript(), nft),
        (e) => e instanceof NftError && e.isAlreadyExists && /Error/.test(e.stderr),
      );
    }));

  it('a failed apply leaves the previous ruleset exactly as it was', () =>
    withNetns(async (nft) => {
      await applyScript(renderScript(webPlan()).script, nft);
      const before = await listTable(nft);
      // The failing script starts with add/delete table: atomicity is what keeps the old one.
      await assert.rejects(applyScript(kernelRejectedScript(), nft), NftError);
      await assert.rejects(applyScript('delete table inet nftpol\nbogus\n', nft), NftError);
      assert.deepEqual(await listTable(nft), before);
    }));

  it('never touches another table: apply, re-apply, failed apply and delete', () =>
    withNetns(async (nft) => {
      await runNft(['-f', '-'], OTHER_TABLE, nft);
      const others = async (): Promise<string> =>
        (await runNft(['list', 'ruleset'], undefined, nft)).replace(
          /table inet nftpol \{[\s\S]*?\n\}\n/,
          '',
        );
      const before = await others();
      assert.match(before, /table inet other/);
      await applyScript(renderScript(webPlan()).script, nft);
      await applyScript(renderScript(webPlan({ chains: [], sets: [], policies: [] })).script, nft);
      await assert.rejects(applyScript(kernelRejectedScript(), nft), NftError);
      assert.equal(await others(), before);
      assert.equal(await deleteTable(nft), true);
      assert.equal(await runNft(['list', 'ruleset'], undefined, nft), before);
    }));

  it('deleteTable removes the table once and then reports it absent', () =>
    withNetns(async (nft) => {
      await applyScript(renderScript(webPlan()).script, nft);
      assert.equal(await deleteTable(nft), true);
      assert.equal(await listTable(nft), null);
      assert.equal(await deleteTable(nft), false);
    }));
});
