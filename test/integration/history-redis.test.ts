/**
 * The change history in Redis, against a real redis-server started here:
 * the shared store table (the same the in-memory store passes), a Redis that
 * is not there, and the controller, on the real kube-apiserver, publishing
 * through a Redis that is stopped and restarted mid-run — NodeFirewalls keep
 * converging, every entry lost meanwhile is counted (against the applies the
 * server's audit log shows), and entries are recorded again once Redis is
 * back; and the history port answering on every replica, a standby too,
 * since the history is shared. The cluster is written and observed through
 * the API (list + watch).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { ControllerHandle } from '../../src/controller/main.js';
import { RedisHistoryStore } from '../../src/history/redis.js';
import { hashScript } from '../../src/nft/hash.js';
import { describeHistoryStore, entry } from '../support/history-suite.js';
import {
  eventually,
  holdLease,
  nodeFirewallApplies,
  seedCluster,
  startTestController,
  waitConverged,
  watchCluster,
  webPolicy,
  writtenHashes,
} from '../support/history-fixture.js';
import { freePort, startRedis, type TestRedis } from '../support/redis-server.js';
import { realServerSkip, startTestApi, type ApiView, type TestApi } from '../support/test-api.js';

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

/** A store on an emptied Redis; fails the test on any lost entry. */
async function freshStore(entriesPerNode: number): Promise<RedisHistoryStore> {
  const admin = new Redis(redis.url);
  await admin.flushall();
  admin.disconnect();
  const store = new RedisHistoryStore({
    url: redis.url,
    entriesPerNode,
    onLost: (err) => {
      throw new Error(`lost an entry: ${String(err)}`);
    },
  });
  await store.whenReady();
  return store;
}

// Redis trims `MAXLEN ~` by whole macro-nodes of stream-node-max-entries (100).
describeHistoryStore('redis', (o) => freshStore(o.entriesPerNode), 100);

describe('redis history store without a server', () => {
  it('resolves a write at once and reports the entry lost; reads fail', async () => {
    const lost: string[] = [];
    const store = new RedisHistoryStore({
      url: `redis://127.0.0.1:${await freePort()}`,
      onLost: (_err, e) => lost.push(e.newHash),
    });
    try {
      await store.record(entry('n1', 7));
      assert.deepEqual(lost, [entry('n1', 7).newHash]);
      await assert.rejects(store.list('n1'));
    } finally {
      await store.close();
    }
  });
});

describe('controller with the history in Redis', { skip: realServerSkip() }, () => {
  let api: TestApi;
  let view: ApiView;
  let controller: ControllerHandle;
  let store: RedisHistoryStore;
  const lost = async (): Promise<number> =>
    (await controller.metrics.historyLost.get()).values[0]?.value ?? 0;
  const latest = async (node: string) => (await controller.history.list(node, { limit: 1 }))[0];

  before(async () => {
    const admin = new Redis(redis.url);
    await admin.flushall();
    admin.disconnect();
    api = await startTestApi('history redis');
    await seedCluster(api);
    view = await watchCluster(api);
    controller = await startTestController(api, {
      redisUrl: redis.url,
      historyEntries: 10,
      historyPort: 0,
      historyHost: '127.0.0.1',
    });
    assert.ok(controller.history instanceof RedisHistoryStore);
    store = controller.history;
  });
  after(async () => {
    await controller?.stop();
    view?.stop();
    await api?.stop();
  });

  it('records one resync entry per node with the script it wrote', async () => {
    await waitConverged(view, () => true, 'first convergence');
    for (const node of ['n1', 'n2']) {
      await eventually(async () => (await latest(node)) !== undefined, `an entry for ${node}`);
      const [first, ...rest] = await controller.history.list(node);
      assert.deepEqual(rest, []);
      assert.deepEqual(first!.causes, ['resync']);
      assert.equal(first!.oldHash, null);
      assert.equal(first!.newHash, writtenHashes(view).get(node));
      assert.equal(hashScript(first!.script), first!.newHash);
    }
  });

  it('names the objects whose change caused a new script', async () => {
    const before = writtenHashes(view).get('n1');
    await api.create([webPolicy('allow-client', 'client', 8080)]);
    await waitConverged(
      view,
      () => view.get('networkpolicies', 'allow-client', 'shop') !== undefined,
      'convergence after a new policy',
    );
    await eventually(
      async () => (await latest('n1'))?.newHash === writtenHashes(view).get('n1'),
      'the policy change recorded',
    );
    const change = await latest('n1');
    assert.deepEqual(change?.causes, ['NetworkPolicy shop/allow-client']);
    assert.equal(change?.oldHash, before);

    // web-1 is isolated on n1: its new IP changes n1's dispatch maps. (A peer's
    // IP, such as client's, changes only its AddressSet, never n1's script.)
    await api.mergePatch(
      'pods',
      'web-1',
      { status: { podIP: '10.1.0.9', podIPs: [{ ip: '10.1.0.9' }] } },
      { namespace: 'shop', status: true },
    );
    await waitConverged(
      view,
      () =>
        (view.get('pods', 'web-1', 'shop')?.['status'] as { podIP?: string } | undefined)?.podIP ===
        '10.1.0.9',
      'convergence after a pod IP change',
    );
    await eventually(
      async () => (await latest('n1'))?.newHash === writtenHashes(view).get('n1'),
      'the pod change recorded',
    );
    assert.deepEqual((await latest('n1'))?.causes, ['Pod shop/web-1']);
  });

  /**
   * The history port of the leader and of a standby (leaderElect on a Lease
   * another replica holds) answer the same listing as the store: with Redis
   * any replica answers, where an in-memory standby refuses
   * (test/integration/history-cli.test.ts).
   */
  it('serves the same history on every replica’s history port, a standby too', async () => {
    await holdLease(api, 'history-redis-standby');
    const standby = await startTestController(api, {
      identity: 'standby',
      leaderElect: true,
      leaseName: 'history-redis-standby',
      leaseNamespace: 'kube-system',
      redisUrl: redis.url,
      historyPort: 0,
      historyHost: '127.0.0.1',
    });
    try {
      assert.equal(standby.isLeader(), false);
      const want = (await controller.history.list('n1')).map((e) => e.rev);
      assert.ok(want.length >= 2, `entries of n1: ${want.join(', ')}`);
      for (const port of [controller.historyPort, standby.historyPort]) {
        const response = await fetch(`http://127.0.0.1:${port}/history/n1`);
        assert.equal(response.status, 200, `port ${port}`);
        const body = (await response.json()) as { entries: { rev: string }[] };
        assert.deepEqual(
          body.entries.map((e) => e.rev),
          want,
          `port ${port}`,
        );
      }
    } finally {
      await standby.stop();
    }
  });

  it('keeps publishing while Redis is down, counts each lost entry, and records again once it is back', async () => {
    const lostBefore = await lost();
    await redis.stop();
    await eventually(() => !store.isReady, 'the controller to notice Redis is gone');

    const appliesBefore = nodeFirewallApplies(api);
    await api.create([webPolicy('allow-web', 'web', 9090)]);
    await waitConverged(
      view,
      () => view.get('networkpolicies', 'allow-web', 'shop') !== undefined,
      'convergence while Redis is down',
    );
    // Both nodes rewritten; the audit log may record a write a moment after
    // the watch shows it, so both counts are read until they agree.
    let applies = 0;
    await eventually(async () => {
      applies = nodeFirewallApplies(api) - appliesBefore;
      return applies >= 2 && (await lost()) - lostBefore === applies;
    }, 'every entry counted lost');
    const duringOutage = writtenHashes(view).get('n1');

    await redis.start();
    await store.whenReady();
    await api.remove('networkpolicies', 'allow-web', 'shop');
    await waitConverged(
      view,
      () => view.get('networkpolicies', 'allow-web', 'shop') === undefined,
      'convergence after Redis is back',
    );
    await eventually(
      async () => (await latest('n1'))?.newHash === writtenHashes(view).get('n1'),
      'an entry recorded after the restart',
    );
    const [after, ...older] = await controller.history.list('n1');
    assert.deepEqual(older, [], 'the restarted Redis kept nothing (persistence off)');
    assert.deepEqual(after?.causes, ['NetworkPolicy shop/allow-web']);
    assert.equal(after?.oldHash, duringOutage, 'the hash written during the outage is the old one');
    assert.equal(await lost(), lostBefore + applies, 'nothing lost after the restart');
  });
});
