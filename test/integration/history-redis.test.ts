/**
 * The change history in Redis, against a real redis-server started here:
 * the shared store table (the same the in-memory store passes), a Redis that
 * is not there, and the controller publishing through a Redis that is
 * stopped and restarted mid-run — NodeFirewalls keep converging, every entry
 * lost meanwhile is counted, and entries are recorded again once Redis is
 * back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import type { ControllerHandle } from '../../src/controller/main.js';
import { RedisHistoryStore } from '../../src/history/redis.js';
import { hashScript } from '../../src/nft/render.js';
import { describeHistoryStore, entry } from '../support/history-suite.js';
import {
  converged,
  eventually,
  nodeFirewallApplies,
  seedCluster,
  startTestController,
  webPolicy,
  writtenHashes,
} from '../support/history-fixture.js';
import { freePort, startRedis, type TestRedis } from '../support/redis-server.js';

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

describe('controller with the history in Redis', () => {
  let server: ApiServer;
  let controller: ControllerHandle;
  let store: RedisHistoryStore;
  const lost = async (): Promise<number> =>
    (await controller.metrics.historyLost.get()).values[0]?.value ?? 0;
  const latest = async (node: string) => (await controller.history.list(node, { limit: 1 }))[0];

  before(async () => {
    const admin = new Redis(redis.url);
    await admin.flushall();
    admin.disconnect();
    server = await startApiServer({ bookmarkIntervalMs: 1_000 });
    seedCluster(server);
    controller = await startTestController(server, { redisUrl: redis.url, historyEntries: 10 });
    assert.ok(controller.history instanceof RedisHistoryStore);
    store = controller.history;
  });
  after(async () => {
    await controller.stop();
    await server.close();
  });

  it('records one resync entry per node with the script it wrote', async () => {
    await eventually(() => converged(server), 'first convergence');
    for (const node of ['n1', 'n2']) {
      await eventually(async () => (await latest(node)) !== undefined, `an entry for ${node}`);
      const [first, ...rest] = await controller.history.list(node);
      assert.deepEqual(rest, []);
      assert.deepEqual(first!.causes, ['resync']);
      assert.equal(first!.oldHash, null);
      assert.equal(first!.newHash, writtenHashes(server).get(node));
      assert.equal(hashScript(first!.script), first!.newHash);
    }
  });

  it('names the objects whose change caused a new script', async () => {
    const before = writtenHashes(server).get('n1');
    server.store.create('networkpolicies', webPolicy('allow-client', 'client', 8080));
    await eventually(() => converged(server), 'convergence after a new policy');
    await eventually(
      async () => (await latest('n1'))?.newHash === writtenHashes(server).get('n1'),
      'the policy change recorded',
    );
    const change = await latest('n1');
    assert.deepEqual(change?.causes, ['NetworkPolicy shop/allow-client']);
    assert.equal(change?.oldHash, before);

    server.store.patch('pods', { namespace: 'shop', name: 'client' }, 'merge', {
      status: { podIP: '10.2.0.9', podIPs: [{ ip: '10.2.0.9' }] },
    });
    await eventually(() => converged(server), 'convergence after a pod IP change');
    await eventually(
      async () => (await latest('n1'))?.newHash === writtenHashes(server).get('n1'),
      'the pod change recorded',
    );
    assert.deepEqual((await latest('n1'))?.causes, ['Pod shop/client']);
  });

  it('keeps publishing while Redis is down, counts each lost entry, and records again once it is back', async () => {
    const lostBefore = await lost();
    await redis.stop();
    await eventually(() => !store.isReady, 'the controller to notice Redis is gone');

    const appliesBefore = nodeFirewallApplies(server);
    server.store.create('networkpolicies', webPolicy('allow-web', 'web', 9090));
    await eventually(() => converged(server), 'convergence while Redis is down');
    const applies = nodeFirewallApplies(server) - appliesBefore;
    assert.ok(applies >= 2, `both nodes rewritten (${applies} applies)`);
    await eventually(
      async () => (await lost()) - lostBefore === applies,
      'every entry counted lost',
    );
    const duringOutage = writtenHashes(server).get('n1');

    await redis.start();
    await store.whenReady();
    server.store.delete('networkpolicies', 'shop', 'allow-web');
    await eventually(() => converged(server), 'convergence after Redis is back');
    await eventually(
      async () => (await latest('n1'))?.newHash === writtenHashes(server).get('n1'),
      'an entry recorded after the restart',
    );
    const [after, ...older] = await controller.history.list('n1');
    assert.deepEqual(older, [], 'the restarted Redis kept nothing (persistence off)');
    assert.deepEqual(after?.causes, ['NetworkPolicy shop/allow-web']);
    assert.equal(after?.oldHash, duringOutage, 'the hash written during the outage is the old one');
    assert.equal(await lost(), lostBefore + applies, 'nothing lost after the restart');
  });
});
