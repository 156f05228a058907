/**
 * Engine coalescing, driven by a fake clock: no sleeps, time moves only when
 * the test says so. Checks the debounce, the max delay under a steady stream,
 * one batch at a time, inactivity while a follower, and removed nodes; then
 * the shared sets: retired only after the grace period, and handed over with
 * the first chunk of a batch.
 */
import { EMPTY_SUMMARY } from '../../../src/k8s/nodefirewall.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine, type Batch, type RenderNode } from '../../../src/controller/engine.js';
import { ClusterSnapshot } from '../../../src/controller/snapshot.js';
import { node, podPeer, policy, rule, sel } from '../../support/builders.js';
import { FakeClock, settle } from '../../support/fake-clock.js';

const fakeRender: RenderNode = (_cluster, n) => ({
  node: n,
  script: `script ${n}`,
  scriptHash: `sha256:${n}`,
  summary: EMPTY_SUMMARY,
  addressSets: [],
});

function setup(
  nodes: readonly string[] = ['n1', 'n2', 'n3'],
  over: { readonly setGraceMs?: number; readonly chunkNodes?: number } = {},
): {
  clock: FakeClock;
  engine: Engine;
  batches: Batch[];
  snapshot: ClusterSnapshot;
} {
  const clock = new FakeClock();
  const snapshot = new ClusterSnapshot();
  nodes.forEach((n) => snapshot.setNode(node(n)));
  const batches: Batch[] = [];
  const engine = new Engine(
    snapshot,
    { debounceMs: 100, maxDelayMs: 1000, clock, render: fakeRender, ...over },
    (b) => {
      batches.push(b);
      return Promise.resolve();
    },
  );
  engine.setActive(true);
  return { clock, engine, batches, snapshot };
}

const renderedNodes = (b: Batch | undefined): string[] => (b?.rendered ?? []).map((r) => r.node);

describe('Engine coalescing', () => {
  it('activation renders every node once after the debounce', async () => {
    const { clock, batches } = setup();
    await clock.advance(99);
    assert.equal(batches.length, 0);
    await clock.advance(1);
    assert.equal(batches.length, 1);
    assert.deepEqual(renderedNodes(batches[0]), ['n1', 'n2', 'n3']);
  });

  it('a burst of marks within the debounce becomes one batch', async () => {
    const { clock, engine, batches } = setup();
    await clock.advance(100);
    batches.length = 0;
    for (let i = 0; i < 5; i++) {
      engine.markDirty(['n1']);
      engine.markDirty(['n2']);
      await clock.advance(50);
    }
    assert.equal(batches.length, 0, 'each mark extends the debounce');
    await clock.advance(50);
    assert.equal(batches.length, 1);
    assert.deepEqual(renderedNodes(batches[0]), ['n1', 'n2']);
  });

  it('a steady stream of marks still flushes at the max delay', async () => {
    const { clock, engine, batches } = setup();
    await clock.advance(100);
    batches.length = 0;
    for (let t = 0; t < 1000; t += 50) {
      engine.markDirty(['n3']);
      await clock.advance(50);
    }
    assert.equal(batches.length, 1, 'flushed once at 1000 ms despite marks every 50 ms');
    assert.deepEqual(renderedNodes(batches[0]), ['n3']);
  });

  it('marks made while a batch runs wait for the next batch', async () => {
    const clock = new FakeClock();
    const snapshot = new ClusterSnapshot();
    ['n1', 'n2'].forEach((n) => snapshot.setNode(node(n)));
    const batches: Batch[] = [];
    let release: () => void = () => undefined;
    const engine = new Engine(
      snapshot,
      { debounceMs: 100, maxDelayMs: 1000, clock, render: fakeRender },
      (b) => {
        batches.push(b);
        return new Promise<void>((resolve) => (release = resolve));
      },
    );
    engine.setActive(true);
    await clock.advance(100);
    assert.equal(batches.length, 1);
    engine.markDirty(['n2']);
    await clock.advance(500);
    assert.equal(batches.length, 1, 'no second batch while the first runs');
    assert.equal(engine.queueDepth, 3);
    release();
    await settle();
    await clock.advance(100);
    assert.equal(batches.length, 2);
    assert.deepEqual(renderedNodes(batches[1]), ['n2']);
  });

  it('onBatchDone sees the finished batch off the queue (an observer of idleness is told)', async () => {
    const clock = new FakeClock();
    const snapshot = new ClusterSnapshot();
    snapshot.setNode(node('n1'));
    const depths: number[] = [];
    const engine: Engine = new Engine(
      snapshot,
      {
        debounceMs: 10,
        maxDelayMs: 10,
        clock,
        render: fakeRender,
        onBatchDone: () => depths.push(engine.queueDepth),
      },
      () => Promise.resolve(),
    );
    engine.setActive(true);
    await clock.advance(10);
    assert.deepEqual(depths, [0]);
  });

  it('an inactive engine (a follower) ignores marks', async () => {
    const { clock, engine, batches } = setup();
    engine.setActive(false);
    engine.markDirty(['n1']);
    await clock.advance(5000);
    assert.equal(batches.length, 0);
  });

  it('a dirty node that no longer exists is reported as removed, extras included', async () => {
    const clock = new FakeClock();
    const snapshot = new ClusterSnapshot();
    snapshot.setNode(node('n1'));
    const batches: Batch[] = [];
    const engine = new Engine(
      snapshot,
      { debounceMs: 10, maxDelayMs: 10, clock, render: fakeRender },
      (b) => {
        batches.push(b);
        return Promise.resolve();
      },
    );
    engine.setActive(true, ['gone']);
    await clock.advance(10);
    assert.deepEqual(renderedNodes(batches[0]), ['n1']);
    assert.deepEqual(batches[0]?.removed, ['gone']);
    assert.equal(engine.lastHash('n1'), 'sha256:n1');
  });
});

describe('Engine: shared sets and chunks', () => {
  const guard = (name: string, app: string) =>
    policy(`a/${name}`, { ingress: [rule([podPeer(sel({ app }))])] });
  const setIds = (batches: readonly Batch[]): string[] =>
    batches.flatMap((b) => (b.sets ?? []).map((x) => x.id));
  const retired = (batches: readonly Batch[]): string[] =>
    batches.flatMap((b) => b.removedSets ?? []);

  it('a set no policy defines is retired only after the grace period, and not if defined again', async () => {
    const { clock, engine, batches, snapshot } = setup(['n1'], { setGraceMs: 5_000 });
    engine.markDirty(snapshot.setPolicy(guard('one', 'web')));
    await clock.advance(100);
    const [web] = setIds(batches);
    assert.ok(web !== undefined, 'the new set is written');
    batches.length = 0;

    engine.markDirty(snapshot.deletePolicy('a', 'one'));
    await clock.advance(100); // the batch that finds the set undefined starts the grace
    assert.deepEqual(retired(batches), [], 'kept during the grace period');
    await clock.advance(4_999);
    assert.deepEqual(retired(batches), [], 'not before the grace has passed');
    await clock.advance(1);
    await settle();
    assert.deepEqual(retired(batches), [web], 'retired once the grace has passed');

    batches.length = 0;
    engine.markDirty(snapshot.setPolicy(guard('two', 'db')));
    await clock.advance(100);
    const [db] = setIds(batches);
    engine.markDirty(snapshot.deletePolicy('a', 'two'));
    await clock.advance(100);
    engine.markDirty(snapshot.setPolicy(guard('three', 'db')));
    await clock.advance(10_000);
    await settle();
    assert.deepEqual(retired(batches), [], `${db ?? ''} was defined again within the grace`);
  });

  it('a batch reaches the sink in chunks, the changed sets with the first', async () => {
    const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const { clock, engine, batches, snapshot } = setup(nodes, { chunkNodes: 2 });
    await clock.advance(100);
    assert.deepEqual(
      batches.map((b) => b.rendered.length),
      [2, 2, 1],
    );
    batches.length = 0;
    snapshot.setPolicy(guard('one', 'web'));
    engine.markDirty(nodes);
    await clock.advance(100);
    assert.deepEqual(
      batches.map((b) => (b.sets ?? []).length),
      [1, 0, 0],
      'sets go with the first chunk only',
    );
  });
});
