/**
 * Engine coalescing, driven by a fake clock: no sleeps, time moves only when
 * the test says so. Checks the debounce, the max delay under a steady stream,
 * one batch at a time, inactivity while a follower, and removed nodes.
 */
import { EMPTY_SUMMARY } from '../../../src/k8s/nodefirewall.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine, type Batch, type RenderNode } from '../../../src/controller/engine.js';
import { ClusterSnapshot } from '../../../src/controller/snapshot.js';
import { node } from '../../support/builders.js';
import { FakeClock, settle } from '../../support/fake-clock.js';

const fakeRender: RenderNode = (_cluster, n) => ({
  node: n,
  script: `script ${n}`,
  scriptHash: `sha256:${n}`,
  summary: EMPTY_SUMMARY,
  addressSets: [],
});

function setup(nodes: readonly string[] = ['n1', 'n2', 'n3']): {
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
    { debounceMs: 100, maxDelayMs: 1000, clock, render: fakeRender },
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
