/**
 * nftpol-executor with compressed specs (`spec.scriptGzip`), against the
 * embedded API server and real nft in throwaway network namespaces: a
 * compressed script is decompressed, hash-checked and applied; a
 * `scriptGzip` that does not decompress is reported as `Applied=False /
 * DecodeFailed` with nothing loaded, and the next valid spec recovers; an
 * executor restarted on a compressed spec already in force adopts it without
 * reloading.
 *
 * Synchronisation is by waiting on the store's change feed — never by
 * sleeping. The setup is shared: test/support/executor-fixture.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { compressScript } from '../../src/k8s/script-encoding.js';
import { hashScript } from '../../src/nft/render.js';
import { diffTables } from '../../src/nft/ruleset.js';
import {
  conditionOf,
  executorOptions as options,
  expectedTable,
  GOOD,
  hasCondition,
  liveTable,
  NFW,
  OTHER,
  startTestExecutor as start,
  statusOf,
  SUMMARY,
  TIMEOUT_MS,
  waitForStore,
} from '../support/executor-fixture.js';
import { NFT_SKIP_REASON, withNetns } from '../support/nft-check.js';

/** base64 that is not gzip: what a bug or a hand edit could leave in the field. */
const CORRUPT = Buffer.from(GOOD).toString('base64');

function compressedFirewall(name: string, script: string) {
  return {
    apiVersion: 'nftpol.io/v1alpha1',
    kind: 'NodeFirewall',
    metadata: { name },
    spec: { scriptGzip: compressScript(script), scriptHash: hashScript(script), summary: SUMMARY },
  };
}

describe('nftpol-executor with compressed NodeFirewall specs', { skip: NFT_SKIP_REASON }, () => {
  let server: ApiServer;

  before(async () => {
    server = await startApiServer({ bookmarkIntervalMs: 1_000 });
  });
  after(async () => {
    await server.close();
  });

  it('decompresses scriptGzip, checks the hash of the script and applies it', async () => {
    await withNetns(async (nft, ns) => {
      server.store.create(NFW, compressedFirewall('gz', GOOD));
      const executor = await start(server, options('gz', ns));
      try {
        await waitForStore(server, hasCondition(server, 'gz', 'Ready', 'True', 'Ready'), 'Ready');
        assert.equal(statusOf(server, 'gz')!.appliedHash, hashScript(GOOD));
        assert.equal(diffTables((await expectedTable(GOOD))!, await liveTable(nft)), null);
        assert.equal(executor.applies(), 1);
      } finally {
        await executor.stop();
      }
    });
  });

  it('reports DecodeFailed for a corrupt scriptGzip, loads nothing, and recovers on the next spec', async () => {
    await withNetns(async (nft, ns) => {
      server.store.create(NFW, compressedFirewall('corrupt', GOOD));
      const executor = await start(server, options('corrupt', ns));
      try {
        await waitForStore(
          server,
          hasCondition(server, 'corrupt', 'Applied', 'True', 'Applied'),
          'first apply',
        );
        const before = await liveTable(nft);
        server.store.patch(NFW, { name: 'corrupt' }, 'merge', {
          spec: { scriptGzip: CORRUPT, scriptHash: hashScript(OTHER) },
        });
        await waitForStore(
          server,
          hasCondition(server, 'corrupt', 'Applied', 'False', 'DecodeFailed'),
          'DecodeFailed',
        );
        const applied = conditionOf(server, 'corrupt', 'Applied')!;
        assert.match(
          applied.message,
          /scriptGzip is not a valid gzip stream: incorrect header check/,
        );
        assert.equal(applied.observedGeneration, 2);
        assert.equal(conditionOf(server, 'corrupt', 'Ready')?.status, 'False');
        assert.equal(statusOf(server, 'corrupt')!.appliedHash, hashScript(GOOD));
        assert.equal(diffTables(before!, await liveTable(nft)), null, 'the old table stays');
        assert.equal(executor.applies(), 1, 'nothing was loaded');

        // The next valid spec, as text this time (scriptGzip removed), is applied.
        server.store.patch(NFW, { name: 'corrupt' }, 'merge', {
          spec: { scriptGzip: null, script: OTHER, scriptHash: hashScript(OTHER) },
        });
        await waitForStore(
          server,
          () =>
            hasCondition(server, 'corrupt', 'Ready', 'True', 'Ready')() &&
            statusOf(server, 'corrupt')?.appliedHash === hashScript(OTHER),
          'recovery',
        );
        assert.equal(diffTables((await expectedTable(OTHER))!, await liveTable(nft)), null);
      } finally {
        await executor.stop();
      }
    });
  });

  it(
    'a restarted executor adopts the compressed script in force without reloading it',
    { timeout: 2 * TIMEOUT_MS },
    async () => {
      await withNetns(async (_nft, ns) => {
        server.store.create(NFW, compressedFirewall('restart', GOOD));
        const first = await start(server, options('restart', ns));
        await waitForStore(
          server,
          hasCondition(server, 'restart', 'Ready', 'True', 'Ready'),
          'first Ready',
        );
        assert.equal(first.applies(), 1);
        await first.stop();
        let adopted: () => void = () => undefined;
        const adoption = new Promise<void>((resolve) => (adopted = resolve));
        const second = await start(server, options('restart', ns), (e) => {
          if (e.kind === 'adopted' && e.hash === hashScript(GOOD)) adopted();
        });
        try {
          await adoption; // bounded by the test's timeout
          await second.checkNow();
          assert.equal(second.applies(), 0, 'adopted, not reloaded');
          assert.equal(conditionOf(server, 'restart', 'Ready')?.status, 'True');
        } finally {
          await second.stop();
        }
      });
    },
  );
});
