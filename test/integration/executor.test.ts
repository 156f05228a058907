/**
 * nftpol-executor against the real kube-apiserver (real client-node, real
 * watch, the CRD's validation and status subresource) and real nft in
 * throwaway network namespaces (`ip netns exec NS nft`): apply, a script nft
 * rejects, a hash mismatch, drift repaired with a foreign table left alone, a
 * restart that applies nothing, condition transition times, an unusable
 * host, cleanup and --uninstall. An API outage (the server goes away and
 * comes back) runs on the embedded API server, which can do that on demand.
 *
 * Everything is observed through the API (list + watch, test/support/
 * test-api.ts); synchronisation is by its watch events or the executor's
 * event hook — never by sleeping. Intervals are injected short.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startApiServer, type ApiServer } from '../support/apiserver/server.js';
import { type ExecutorOptions } from '../../src/executor/options.js';
import { kubeConfigForServer } from '../../src/k8s/client.js';
import { listTable } from '../../src/nft/apply.js';
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
  nodeFirewall,
  OTHER,
  startRecordedExecutor,
  statusOf,
  SUMMARY,
  waitForView,
} from '../support/executor-fixture.js';
import { NFT_SKIP_REASON, withNetns } from '../support/nft-check.js';
import {
  objectPath,
  rawRequest,
  realServerSkip,
  startWatchedApi,
  type ApiView,
  type TestApi,
} from '../support/test-api.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
/** Parses, but the kernel rejects it: a rule refers to a set that does not exist. */
const BAD = `${GOOD}table inet nftpol {\n\tchain broken {\n\t\tip saddr @no_such_set accept\n\t}\n}\n`;

/** A settable wall clock for status times. */
class TestClock {
  ms = Date.parse('2030-01-01T00:00:00Z');
  now = (): Date => new Date(this.ms);
  advance(seconds: number): string {
    this.ms += seconds * 1000;
    return new Date(this.ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
}

/** An executor started with `clock` as its wall clock, its events recorded. */
function start(api: TestApi, opts: ExecutorOptions, clock: TestClock = new TestClock()) {
  return startRecordedExecutor(api, opts, clock.now);
}

async function nftIn(netns: string, args: string[], stdin?: string): Promise<string> {
  const child = run('ip', ['netns', 'exec', netns, 'nft', ...args]);
  if (stdin !== undefined) {
    child.child.stdin?.end(stdin);
  }
  return (await child).stdout;
}

/** A new spec for NodeFirewall `name`, as the controller would write it. */
async function setScript(api: TestApi, name: string, script: string): Promise<void> {
  await api.mergePatch(NFW, name, { spec: { script, scriptHash: hashScript(script) } });
}

describe(
  'nftpol-executor against the real kube-apiserver and nft in a network namespace',
  { skip: NFT_SKIP_REASON || realServerSkip() },
  () => {
    let api: TestApi;
    let view: ApiView;

    before(async () => {
      ({ api, view } = await startWatchedApi('executor', [NFW]));
    });
    after(async () => {
      view?.stop();
      await api?.stop();
    });

    it('applies the script, reports Applied, InSync, SetsReady, Ready and the nft version', async () => {
      await withNetns(async (nft, ns) => {
        await api.create([nodeFirewall('apply', GOOD)]);
        const { executor } = await start(api, options('apply', ns));
        try {
          await waitForView(view, hasCondition(view, 'apply', 'Ready', 'True', 'Ready'), 'Ready');
          const status = statusOf(view, 'apply')!;
          assert.equal(status.appliedHash, hashScript(GOOD));
          assert.equal(status.observedGeneration, 1);
          assert.match(status.nftVersion ?? '', /^v1\.\d+\.\d+/);
          assert.equal(status.lastAppliedTime, '2030-01-01T00:00:00Z');
          const types = (status.conditions ?? []).map((c) => `${c.type}=${c.status}/${c.reason}`);
          assert.deepEqual(types, [
            'Applied=True/Applied',
            'InSync=True/InSync',
            'SetsReady=True/SetsReady',
            'HostUsable=True/HostUsable',
            'Ready=True/Ready',
          ]);
          assert.equal(diffTables((await expectedTable(GOOD))!, await liveTable(nft)), null);
          assert.equal(executor.applies(), 1);
          await executor.checkNow();
          const text = await executor.metrics.registry.metrics();
          assert.match(
            text,
            /nftpol_executor_deny_packets_total\{pod="shop\/web",direction="ingress"\} 0/,
          );
          assert.match(text, /nftpol_executor_apply_duration_seconds_count 1/);
        } finally {
          await executor.stop();
        }
      });
    });

    it('keeps the old ruleset when nft rejects a script and reports ApplyFailed with the error', async () => {
      await withNetns(async (nft, ns) => {
        await api.create([nodeFirewall('bad', GOOD)]);
        const { executor } = await start(api, options('bad', ns));
        try {
          await waitForView(
            view,
            hasCondition(view, 'bad', 'Applied', 'True', 'Applied'),
            'first apply',
          );
          const before = await liveTable(nft);
          await setScript(api, 'bad', BAD);
          await waitForView(
            view,
            hasCondition(view, 'bad', 'Applied', 'False', 'ApplyFailed'),
            'ApplyFailed',
          );
          const applied = conditionOf(view, 'bad', 'Applied')!;
          assert.match(applied.message, /previous ruleset stays in force/);
          assert.match(applied.message, /no_such_set|No such file or directory/);
          assert.ok(applied.message.length < 2000, 'the error is truncated');
          assert.equal(conditionOf(view, 'bad', 'Ready')?.reason, 'NotApplied');
          assert.equal(
            statusOf(view, 'bad')?.appliedHash,
            hashScript(GOOD),
            'appliedHash names what is in force',
          );
          assert.equal(statusOf(view, 'bad')?.observedGeneration, 2);
          assert.equal(
            diffTables(before!, await liveTable(nft)),
            null,
            'the old table is untouched',
          );
          const failures = await executor.metrics.applyFailures.get();
          assert.ok((failures.values[0]?.value ?? 0) >= 1);
        } finally {
          await executor.stop();
        }
      });
    });

    it('applies nothing when the script does not match scriptHash', async () => {
      await withNetns(async (nft, ns) => {
        await api.create([nodeFirewall('mismatch', GOOD, hashScript(OTHER))]);
        const { executor, waitForEvent } = await start(api, options('mismatch', ns));
        try {
          await waitForEvent((e) => e.kind === 'refused', 'the refusal');
          await waitForView(
            view,
            hasCondition(view, 'mismatch', 'Applied', 'False', 'HashMismatch'),
            'HashMismatch',
          );
          assert.match(conditionOf(view, 'mismatch', 'Applied')!.message, /nothing was applied/);
          assert.equal(conditionOf(view, 'mismatch', 'Ready')?.reason, 'NotApplied');
          assert.equal(await listTable(nft), null, 'no table was created');
          assert.equal(executor.applies(), 0);
          assert.equal(statusOf(view, 'mismatch')?.appliedHash, undefined);
        } finally {
          await executor.stop();
        }
      });
    });

    it('repairs a rule deleted by hand, reports Drifted then Repaired, and leaves a foreign table alone', async () => {
      await withNetns(async (nft, ns) => {
        await api.create([nodeFirewall('drift', GOOD)]);
        const { executor, waitForEvent } = await start(api, options('drift', ns));
        const seen: string[] = [];
        const unsubscribe = view.subscribe(() => {
          const c = conditionOf(view, 'drift', 'InSync');
          if (c !== undefined && seen.at(-1) !== c.reason) seen.push(c.reason);
        });
        try {
          await waitForView(view, hasCondition(view, 'drift', 'Ready', 'True', 'Ready'), 'Ready');
          const reference = await liveTable(nft);
          await nftIn(
            ns,
            ['-f', '-'],
            'table ip foreign {\n\tchain keep {\n\t\tcounter accept\n\t}\n}\n',
          );
          const listing = await nftIn(ns, ['-a', 'list', 'chain', 'inet', 'nftpol', 'in_shop_web']);
          const handle = /counter packets \d+ bytes \d+ accept comment .* # handle (\d+)/.exec(
            listing,
          )?.[1];
          assert.ok(handle !== undefined, listing);
          await nftIn(ns, ['delete', 'rule', 'inet', 'nftpol', 'in_shop_web', 'handle', handle]);

          const drifted = await waitForEvent((e) => e.kind === 'drifted', 'drift detection');
          assert.match((drifted as { summary: string }).summary, /rules in in_shop_web: 1 removed/);
          await waitForView(
            view,
            hasCondition(view, 'drift', 'InSync', 'True', 'Repaired'),
            'Repaired',
          );
          assert.deepEqual(seen.slice(-2), ['Drifted', 'Repaired']);
          assert.match(conditionOf(view, 'drift', 'InSync')!.message, /1 removed/);
          assert.equal(diffTables(reference!, await liveTable(nft)), null, 'the rule is back');
          assert.match(
            await nftIn(ns, ['list', 'table', 'ip', 'foreign']),
            /chain keep/,
            'foreign table untouched',
          );
          const repairs = await executor.metrics.driftRepairs.get();
          assert.equal(repairs.values[0]?.value, 1);
        } finally {
          unsubscribe();
          await executor.stop();
        }
      });
    });

    it('does not reload an unchanged script after a restart, yet records a new generation', async () => {
      await withNetns(async (nft, ns) => {
        await api.create([nodeFirewall('restart', GOOD)]);
        const clock = new TestClock();
        const first = await start(api, options('restart', ns), clock);
        await waitForView(view, hasCondition(view, 'restart', 'Ready', 'True', 'Ready'), 'Ready');
        assert.equal(first.executor.applies(), 1);
        await first.executor.stop();
        const tableHandle = async () =>
          (
            (await listTable(nft)) as { nftables: Array<{ table?: { handle: number } }> }
          ).nftables.find((o) => o.table)?.table?.handle;
        const handleBefore = await tableHandle();
        assert.notEqual(handleBefore, undefined, 'fail-static: the table outlived the executor');

        const t1 = clock.advance(60);
        const second = await start(api, options('restart', ns), clock);
        try {
          await second.waitForEvent((e) => e.kind === 'adopted', 'adoption of the table in force');
          await api.mergePatch(NFW, 'restart', { spec: { summary: { ...SUMMARY, rules: 3 } } });
          await waitForView(
            view,
            () => statusOf(view, 'restart')?.observedGeneration === 2,
            'generation 2 observed',
          );
          assert.equal(second.executor.applies(), 0, 'no nft -f');
          assert.equal(await tableHandle(), handleBefore, 'the same table, never reloaded');
          const applied = conditionOf(view, 'restart', 'Applied')!;
          assert.equal(applied.observedGeneration, 2);
          assert.notEqual(
            applied.lastTransitionTime,
            t1,
            'status did not change, so neither did the transition time',
          );
          assert.equal(applied.lastTransitionTime, '2030-01-01T00:00:00Z');
        } finally {
          await second.executor.stop();
        }
      });
    });

    it('moves lastTransitionTime only for the conditions whose status changed', async () => {
      await withNetns(async (_nft, ns) => {
        await api.create([nodeFirewall('times', GOOD)]);
        const clock = new TestClock();
        const { executor } = await start(api, options('times', ns), clock);
        try {
          await waitForView(view, hasCondition(view, 'times', 'Ready', 'True', 'Ready'), 'Ready');
          const t0 = conditionOf(view, 'times', 'Applied')!.lastTransitionTime;
          const t1 = clock.advance(30);
          await setScript(api, 'times', BAD);
          await waitForView(
            view,
            hasCondition(view, 'times', 'Applied', 'False', 'ApplyFailed'),
            'ApplyFailed',
          );
          assert.equal(conditionOf(view, 'times', 'Applied')!.lastTransitionTime, t1);
          assert.equal(conditionOf(view, 'times', 'Ready')!.lastTransitionTime, t1);
          assert.equal(conditionOf(view, 'times', 'InSync')!.lastTransitionTime, t0);
          assert.equal(conditionOf(view, 'times', 'HostUsable')!.lastTransitionTime, t0);
          const t2 = clock.advance(30);
          await setScript(api, 'times', OTHER);
          await waitForView(
            view,
            hasCondition(view, 'times', 'Applied', 'True', 'Applied'),
            'Applied again',
          );
          assert.equal(conditionOf(view, 'times', 'Applied')!.lastTransitionTime, t2);
          assert.equal(conditionOf(view, 'times', 'InSync')!.lastTransitionTime, t0);
          assert.equal(statusOf(view, 'times')?.lastAppliedTime, t2);
        } finally {
          await executor.stop();
        }
      });
    });

    it('starts cleanly before its NodeFirewall exists and applies it when it appears', async () => {
      await withNetns(async (nft, ns) => {
        const { executor, waitForEvent } = await start(api, options('late', ns));
        try {
          assert.equal(executor.applies(), 0);
          assert.equal(await listTable(nft), null);
          await api.create([nodeFirewall('late', GOOD)]);
          await waitForEvent((e) => e.kind === 'applied', 'the apply');
          await waitForView(view, hasCondition(view, 'late', 'Ready', 'True', 'Ready'), 'Ready');
        } finally {
          await executor.stop();
        }
      });
    });

    it('reports an unusable host as Ready=False HostUnusable and applies nothing', async () => {
      await withNetns(async (nft, ns) => {
        await api.create([nodeFirewall('nonft', GOOD)]);
        const { executor, waitForEvent } = await start(
          api,
          options('nonft', ns, { nftCommand: `ip netns exec ${ns} nft-not-installed` }),
        );
        try {
          await waitForView(
            view,
            hasCondition(view, 'nonft', 'Ready', 'False', 'HostUnusable'),
            'HostUnusable',
          );
          assert.match(conditionOf(view, 'nonft', 'Ready')!.message, /nft/);
          assert.equal(conditionOf(view, 'nonft', 'HostUsable')?.status, 'False');
          let probes = 0;
          await waitForEvent(
            (e) => e.kind === 'probed' && !e.usable && ++probes >= 2,
            'a re-probe with back-off',
          );
          assert.equal(executor.applies(), 0);
          assert.equal(await listTable(nft), null);
        } finally {
          await executor.stop();
        }
      });
    });

    it('removes its table on stop only with cleanupOnExit, and --uninstall removes only its own table', async () => {
      await withNetns(async (nft, ns) => {
        await api.create([nodeFirewall('cleanup', GOOD)]);
        const { executor } = await start(api, options('cleanup', ns, { cleanupOnExit: true }));
        await waitForView(view, hasCondition(view, 'cleanup', 'Ready', 'True', 'Ready'), 'Ready');
        await executor.stop();
        assert.equal(await listTable(nft), null);

        await nftIn(ns, ['-f', '-'], GOOD);
        await nftIn(ns, ['-f', '-'], 'table inet other {\n\tchain c {\n\t\taccept\n\t}\n}\n');
        const bin = join(ROOT, 'bin/nftpol-executor');
        await run(bin, [
          '--uninstall',
          '--nft-command',
          `ip netns exec ${ns} nft`,
          '--log-level',
          'silent',
        ]);
        assert.equal(await listTable(nft), null);
        assert.match(await nftIn(ns, ['list', 'tables']), /table inet other/);
      });
    });
  },
);

describe(
  'nftpol-executor through an outage of the embedded API server',
  { skip: NFT_SKIP_REASON },
  () => {
    it('keeps enforcing through an API outage and reports on reconnect', async () => {
      const { api, view } = await startWatchedApi('executor outage', [NFW], {
        server: 'embedded',
        embedded: { bookmarkIntervalMs: 1_000 },
      });
      const down = api.embedded!;
      // A second replica over the same state (as two kube-apiservers share
      // one etcd): where the controller writes while the executor's is down.
      const peer = await startApiServer({ store: down.store, bookmarkIntervalMs: 1_000 });
      let restarted: ApiServer | undefined;
      try {
        await withNetns(async (nft, ns) => {
          await api.create([nodeFirewall('outage', GOOD)]);
          const { executor, waitForEvent } = await start(api, options('outage', ns));
          try {
            await waitForView(
              view,
              hasCondition(view, 'outage', 'Ready', 'True', 'Ready'),
              'Ready',
            );
            await down.close();
            // While the API is down: the table is flushed by hand and repaired anyway.
            await nftIn(ns, ['flush', 'table', 'inet', 'nftpol']);
            await waitForEvent(
              (e) => e.kind === 'applied' && e.cause === 'repair',
              'repair while the API is down',
            );
            await waitForEvent((e) => e.kind === 'statusFailed', 'a failed status write');
            assert.equal(diffTables((await expectedTable(GOOD))!, await liveTable(nft)), null);
            // Meanwhile the controller moved on, through the other replica.
            await rawRequest(kubeConfigForServer(peer.url), 'PATCH', objectPath(NFW, 'outage'), {
              body: { spec: { script: OTHER, scriptHash: hashScript(OTHER) } },
              contentType: 'application/merge-patch+json',
            });
            restarted = await startApiServer({
              port: down.port,
              store: down.store,
              bookmarkIntervalMs: 1_000,
            });
            await waitForView(
              view,
              () =>
                statusOf(view, 'outage')?.appliedHash === hashScript(OTHER) &&
                conditionOf(view, 'outage', 'Ready')?.status === 'True',
              'the new script applied and reported',
            );
            assert.equal(statusOf(view, 'outage')?.observedGeneration, 2);
            assert.equal(diffTables((await expectedTable(OTHER))!, await liveTable(nft)), null);
          } finally {
            await executor.stop();
          }
        });
      } finally {
        view.stop();
        await restarted?.close();
        await peer.close();
        await api.stop();
      }
    });
  },
);
