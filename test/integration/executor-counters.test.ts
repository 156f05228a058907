/**
 * The executor reports packet counters: status.counters per local pod and
 * direction, and the allowed/denied Prometheus counters — against the
 * real kube-apiserver and real nft in a throwaway network namespace. The
 * pod's address sits on the namespace's loopback, so packets sent from it
 * (socat, bound to that address) cross `postrouting` and meet its chains:
 * to itself on an unlisted port is denied by its egress, to the DNS address
 * on UDP/53 is allowed by `shop/lockdown` egress rule 0. An allowed datagram
 * is counted twice here: delivered on this same host, it crosses `postrouting`
 * and then `input`, and both dispatch the pod's egress (a real pod's packet
 * crosses one or the other, never both).
 *
 * Also that counts changing faster than `--counters-interval-ms` do not
 * cause status writes (counted in the API server's audit log). Everything is
 * observed through the API (list + watch); synchronisation by its watch
 * events and on explicit passes (`checkNow`), never by sleeping.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { hashScript } from '../../src/nft/hash.js';
import {
  executorOptions as options,
  GOOD,
  NFW,
  startTestExecutor as startFor,
  statusOf,
  waitForView,
} from '../support/executor-fixture.js';
import { NFT_SKIP_REASON, withNetns } from '../support/nft-check.js';
import {
  realServerSkip,
  startWatchedApi,
  type ApiView,
  type TestApi,
} from '../support/test-api.js';

const run = promisify(execFile);
/** shop/web's address in render-both.nft, and the DNS address its egress allows (UDP/53). */
const POD_IP = '10.244.1.5';
const DNS_IP = '10.96.0.10';

function nodeFirewall(name: string) {
  return {
    apiVersion: 'nftpol.io/v1alpha1',
    kind: 'NodeFirewall',
    metadata: { name },
    spec: {
      script: GOOD,
      scriptHash: hashScript(GOOD),
      summary: {
        localPods: 1,
        isolatedPods: 1,
        policies: 1,
        rules: 2,
        sets: 2,
        setElements: 3,
        policyNames: ['shop/lockdown'],
      },
    },
  };
}

/** Puts the pod's and the DNS address on the namespace's loopback. */
async function preparePodAddress(netns: string): Promise<void> {
  await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', netns, 'addr', 'add', `${POD_IP}/32`, 'dev', 'lo']);
  await run('ip', ['-n', netns, 'addr', 'add', `${DNS_IP}/32`, 'dev', 'lo']);
}

/** Sends `count` UDP datagrams from the pod's address; a drop makes socat fail, which is fine. */
async function sendFromPod(netns: string, to: string, port: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await run('ip', [
      'netns', 'exec', netns, 'socat', '-u', 'SYSTEM:echo ping',
      `UDP4-SENDTO:${to}:${port},bind=${POD_IP}`,
    ]).catch(() => undefined); // prettier-ignore
  }
}

/** Writes of NodeFirewall `name`'s status that reached the server so far. */
function statusWrites(api: TestApi, name: string): number {
  return api
    .writes()
    .filter((w) => w.resource === NFW && w.subresource === 'status' && w.name === name).length;
}

describe('executor packet counters', { skip: NFT_SKIP_REASON || realServerSkip() }, () => {
  let api: TestApi;
  let view: ApiView;

  before(async () => {
    ({ api, view } = await startWatchedApi('executor counters', [NFW]));
  });
  after(async () => {
    view?.stop();
    await api?.stop();
  });

  it('reports per-pod denied and allowed packets in status.counters and as metrics', async () => {
    await withNetns(async (_nft, netns) => {
      await preparePodAddress(netns);
      await api.create([nodeFirewall('c')]);
      const executor = await startFor(api, options('c', netns, { countersIntervalMs: 200 }));
      try {
        await waitForView(
          view,
          () => statusOf(view, 'c')?.counters?.['shop/web'] !== undefined,
          'counters of shop/web',
          () => JSON.stringify(statusOf(view, 'c')),
        );
        assert.deepEqual(statusOf(view, 'c')?.counters, {
          'shop/web': { ingressAllowed: 0, ingressDenied: 0, egressAllowed: 0, egressDenied: 0 },
        });

        await sendFromPod(netns, POD_IP, 9, 3); // egress denied
        await sendFromPod(netns, DNS_IP, 53, 2); // egress allowed by shop/lockdown rule 0
        await waitForView(
          view,
          () => statusOf(view, 'c')?.counters?.['shop/web']?.egressDenied === 3,
          'three denied packets reported',
          () => JSON.stringify(statusOf(view, 'c')),
        );
        await waitForView(
          view,
          () => statusOf(view, 'c')?.counters?.['shop/web']?.egressAllowed === 4,
          'two allowed packets reported (each counted in postrouting and input)',
          () => JSON.stringify(statusOf(view, 'c')),
        );
        assert.deepEqual(statusOf(view, 'c')?.counters, {
          'shop/web': { ingressAllowed: 0, ingressDenied: 0, egressAllowed: 4, egressDenied: 3 },
        });

        await executor.checkNow();
        const text = await executor.metrics.registry.metrics();
        assert.match(
          text,
          /nftpol_executor_deny_packets_total\{pod="shop\/web",direction="egress"\} 3/,
        );
        assert.match(
          text,
          /nftpol_executor_allowed_packets_total\{policy="shop\/lockdown",direction="egress"\} 4/,
        );
      } finally {
        await executor.stop();
      }
    });
  });

  it('does not write status for changed counts before --counters-interval-ms has passed', async () => {
    await withNetns(async (_nft, netns) => {
      await preparePodAddress(netns);
      await api.create([nodeFirewall('slow')]);
      const executor = await startFor(
        api,
        options('slow', netns, { countersIntervalMs: 600_000, driftIntervalMs: 600_000 }),
      );
      try {
        await waitForView(
          view,
          () => statusOf(view, 'slow')?.conditions?.some((c) => c.type === 'Ready') === true,
          'Ready reported',
        );
        // Counters were reported with the first status write (the interval starts then).
        await executor.checkNow();
        const writes = statusWrites(api, 'slow');
        assert.ok(writes >= 1, 'the status writes so far are counted');
        const reported = statusOf(view, 'slow')?.counters;
        assert.deepEqual(reported, {
          'shop/web': { ingressAllowed: 0, ingressDenied: 0, egressAllowed: 0, egressDenied: 0 },
        });

        await sendFromPod(netns, POD_IP, 9, 4);
        await executor.checkNow();
        await executor.checkNow();
        assert.equal(statusWrites(api, 'slow'), writes, 'no status write for counts alone');
        assert.deepEqual(statusOf(view, 'slow')?.counters, reported);
        // The metrics follow the table at every pass all the same.
        const text = await executor.metrics.registry.metrics();
        assert.match(
          text,
          /nftpol_executor_deny_packets_total\{pod="shop\/web",direction="egress"\} 4/,
        );
      } finally {
        await executor.stop();
      }
    });
  });
});
