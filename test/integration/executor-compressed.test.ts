/**
 * nftpol-executor with compressed specs (`spec.scriptGzip`), against the
 * real kube-apiserver (the CRD's `format: byte` and one-of-two-fields
 * validation included) and real nft in throwaway network namespaces: a
 * compressed script is decompressed, hash-checked and applied; a
 * `scriptGzip` that does not decompress is reported as `Applied=False /
 * DecodeFailed` with nothing loaded, and the next valid spec recovers; an
 * executor restarted on a compressed spec already in force adopts it without
 * reloading.
 *
 * Everything is observed through the API (list + watch); synchronisation is
 * by its watch events — never by sleeping. The setup is shared:
 * test/support/executor-fixture.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compressScript } from '../../src/k8s/script-encoding.js';
import { hashScript } from '../../src/nft/hash.js';
import { diffTables } from '../../src/nft/table-diff.js';
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
  waitForView,
} from '../support/executor-fixture.js';
import { NFT_SKIP_REASON, withNetns } from '../support/nft-check.js';
import {
  realServerSkip,
  startWatchedApi,
  type ApiView,
  type TestApi,
} from '../support/test-api.js';

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

describe(
  'nftpol-executor with compressed NodeFirewall specs',
  { skip: NFT_SKIP_REASON || realServerSkip() },
  () => {
    let api: TestApi;
    let view: ApiView;

    before(async () => {
      ({ api, view } = await startWatchedApi('executor compressed', [NFW]));
    });
    after(async () => {
      view?.stop();
      await api?.stop();
    });

    it('decompresses scriptGzip, checks the hash of the script and applies it', async () => {
      await withNetns(async (nft, ns) => {
        await api.create([compressedFirewall('gz', GOOD)]);
        const executor = await start(api, options('gz', ns));
        try {
          await waitForView(view, hasCondition(view, 'gz', 'Ready', 'True', 'Ready'), 'Ready');
          assert.equal(statusOf(view, 'gz')!.appliedHash, hashScript(GOOD));
          assert.equal(diffTables((await expectedTable(GOOD))!, await liveTable(nft)), null);
          assert.equal(executor.applies(), 1);
        } finally {
          await executor.stop();
        }
      });
    });

    it('reports DecodeFailed for a corrupt scriptGzip, loads nothing, and recovers on the next spec', async () => {
      await withNetns(async (nft, ns) => {
        await api.create([compressedFirewall('corrupt', GOOD)]);
        const executor = await start(api, options('corrupt', ns));
        try {
          await waitForView(
            view,
            hasCondition(view, 'corrupt', 'Applied', 'True', 'Applied'),
            'first apply',
          );
          const before = await liveTable(nft);
          await api.mergePatch(NFW, 'corrupt', {
            spec: { scriptGzip: CORRUPT, scriptHash: hashScript(OTHER) },
          });
          await waitForView(
            view,
            hasCondition(view, 'corrupt', 'Applied', 'False', 'DecodeFailed'),
            'DecodeFailed',
          );
          const applied = conditionOf(view, 'corrupt', 'Applied')!;
          assert.match(
            applied.message,
            /scriptGzip is not a valid gzip stream: incorrect header check/,
          );
          assert.equal(applied.observedGeneration, 2);
          assert.equal(conditionOf(view, 'corrupt', 'Ready')?.status, 'False');
          assert.equal(statusOf(view, 'corrupt')!.appliedHash, hashScript(GOOD));
          assert.equal(diffTables(before!, await liveTable(nft)), null, 'the old table stays');
          assert.equal(executor.applies(), 1, 'nothing was loaded');

          // The next valid spec, as text this time (scriptGzip removed), is applied.
          await api.mergePatch(NFW, 'corrupt', {
            spec: { scriptGzip: null, script: OTHER, scriptHash: hashScript(OTHER) },
          });
          await waitForView(
            view,
            () =>
              hasCondition(view, 'corrupt', 'Ready', 'True', 'Ready')() &&
              statusOf(view, 'corrupt')?.appliedHash === hashScript(OTHER),
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
          await api.create([compressedFirewall('restart', GOOD)]);
          const first = await start(api, options('restart', ns));
          await waitForView(
            view,
            hasCondition(view, 'restart', 'Ready', 'True', 'Ready'),
            'first Ready',
          );
          assert.equal(first.applies(), 1);
          await first.stop();
          let adopted: () => void = () => undefined;
          const adoption = new Promise<void>((resolve) => (adopted = resolve));
          const second = await start(api, options('restart', ns), (e) => {
            if (e.kind === 'adopted' && e.hash === hashScript(GOOD)) adopted();
          });
          try {
            await adoption; // bounded by the test's timeout
            await second.checkNow();
            assert.equal(second.applies(), 0, 'adopted, not reloaded');
            assert.equal(conditionOf(view, 'restart', 'Ready')?.status, 'True');
          } finally {
            await second.stop();
          }
        });
      },
    );
  },
);
