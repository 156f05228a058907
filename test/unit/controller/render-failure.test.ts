/**
 * Issue 11: one node whose translate+render throws (two local pods sharing an
 * IP, or any bug) must not take the controller down. The engine is wired as
 * main.ts wires it — renderFailureHandler with the real metrics and the real
 * WarningEvents over a fake Event API — and the render is made to throw for
 * one chosen node. The other nodes are published, the failing node keeps its
 * last good script, the failure is counted, logged and reported on the Node,
 * and the node is published once the cause is gone. Fake clock, no sleeps.
 */
import { EMPTY_SUMMARY } from '../../../src/k8s/nodefirewall.js';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { CoreV1Event } from '@kubernetes/client-node';
import {
  Engine,
  type Batch,
  type RenderedNode,
  type RenderFailure,
  type RenderNode,
} from '../../../src/controller/engine.js';
import { WarningEvents, type EventApi } from '../../../src/k8s/events.js';
import { renderFailureHandler } from '../../../src/controller/render-failures.js';
import { ClusterSnapshot } from '../../../src/controller/snapshot.js';
import { createLogger } from '../../../src/telemetry/log.js';
import { createControllerMetrics, type ControllerMetrics } from '../../../src/telemetry/metrics.js';
import { node } from '../../support/builders.js';
import { FakeClock } from '../../support/fake-clock.js';

const RETRY_MS = 100;
/** The engine's debounce: a retry's mark becomes a batch this long after it. */
const DEBOUNCE_MS = 10;

/** Node scripts as the API would hold them (what the sink last wrote). */
type Published = Map<string, RenderedNode>;

interface Rig {
  readonly clock: FakeClock;
  readonly engine: Engine;
  readonly snapshot: ClusterSnapshot;
  readonly published: Published;
  readonly batches: Batch[];
  readonly events: Array<{ namespace: string; body: CoreV1Event }>;
  readonly failures: RenderFailure[];
  readonly logs: Array<Record<string, unknown>>;
  readonly metrics: ControllerMetrics;
  /** Nodes whose render throws. */
  readonly broken: Set<string>;
  /** Bumped to change every node's script. */
  version: number;
}

/** A render whose script depends on `rig.version` and that throws for `rig.broken`. */
function renderFor(
  rig: () => { readonly broken: ReadonlySet<string>; readonly version: number },
): RenderNode {
  return (_cluster, n) => {
    const { broken, version } = rig();
    if (broken.has(n)) throw new Error(`duplicate chain name "ingress-a-web" on node ${n}`);
    return {
      node: n,
      script: `script ${n} v${version}`,
      scriptHash: `sha256:${n}-v${version}`,
      summary: EMPTY_SUMMARY,
      addressSets: [],
    };
  };
}

function setup(nodes: readonly string[] = ['n1', 'n2', 'n3']): Rig {
  const clock = new FakeClock();
  const snapshot = new ClusterSnapshot();
  nodes.forEach((n) => snapshot.setNode(node(n)));
  const logs: Array<Record<string, unknown>> = [];
  const log = createLogger({
    component: 'test',
    level: 'warn',
    destination: new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  });
  const events: Array<{ namespace: string; body: CoreV1Event }> = [];
  const api: EventApi = {
    createNamespacedEvent: (param) => {
      events.push(param);
      return Promise.resolve({});
    },
  };
  const metrics = createControllerMetrics();
  const warnings = new WarningEvents({ api, identity: 'ctl-0', intervalMs: 60_000, log, clock });
  const report = renderFailureHandler({
    log,
    metrics,
    events: warnings,
    nodeUid: (n) => `uid-${n}`,
  });
  const published: Published = new Map();
  const batches: Batch[] = [];
  const failures: RenderFailure[] = [];
  const rig: Rig = {
    clock,
    snapshot,
    published,
    batches,
    events,
    failures,
    logs,
    metrics,
    broken: new Set(),
    version: 1,
    engine: undefined as unknown as Engine,
  };
  const engine = new Engine(
    snapshot,
    {
      debounceMs: DEBOUNCE_MS,
      maxDelayMs: 100,
      clock,
      render: renderFor(() => rig),
      retryDelayMs: RETRY_MS,
      onRenderError: (failure) => {
        failures.push(failure);
        report(failure);
      },
    },
    (batch) => {
      batches.push(batch);
      for (const r of batch.rendered) published.set(r.node, r);
      return Promise.resolve();
    },
  );
  Object.assign(rig, { engine });
  engine.setActive(true);
  return rig;
}

const scripts = (p: Published): Record<string, string> =>
  Object.fromEntries([...p].map(([n, r]) => [n, r.script]));

async function counter(metrics: ControllerMetrics): Promise<number> {
  return (await metrics.renderFailures.get()).values[0]?.value ?? 0;
}

/** Promise rejections nobody handled while a test ran (each would exit the controller). */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

describe('render failure of one node', () => {
  before(() => process.on('unhandledRejection', onUnhandled));
  after(() => process.off('unhandledRejection', onUnhandled));

  it('publishes the other nodes, keeps its last script, counts, logs and reports it, then recovers', async () => {
    unhandled.length = 0;
    const rig = setup();
    const { clock, engine, published, metrics, events } = rig;
    await clock.advance(DEBOUNCE_MS);
    assert.deepEqual(scripts(published), {
      n1: 'script n1 v1',
      n2: 'script n2 v1',
      n3: 'script n3 v1',
    });

    // A change reaches every node, and n2's render now throws.
    rig.version = 2;
    rig.broken.add('n2');
    engine.markDirty(['n1', 'n2', 'n3'], ['Pod a/web']);
    await clock.advance(DEBOUNCE_MS);

    assert.deepEqual(
      scripts(published),
      { n1: 'script n1 v2', n2: 'script n2 v1', n3: 'script n3 v2' },
      'the others are published; n2 keeps its last good script',
    );
    assert.deepEqual(
      rig.batches.at(-1)?.rendered.map((r) => r.node),
      ['n1', 'n3'],
      'nothing is written for n2',
    );
    assert.equal(
      engine.lastHash('n2'),
      'sha256:n2-v1',
      'the engine still expects the last good hash',
    );
    assert.deepEqual(engine.failingNodes(), ['n2']);
    assert.equal(engine.queueDepth, 0, 'a failing node does not hold the queue');
    assert.equal(await counter(metrics), 1);

    const logged = rig.logs.find((l) => l['level'] === 'error' && l['node'] === 'n2');
    assert.ok(logged, 'an error line names the node');
    assert.match(String(logged['err']), /duplicate chain name .* on node n2/);

    assert.equal(events.length, 1);
    const event = events[0]!;
    assert.equal(event.namespace, 'default', 'Node Events go where the kubelet puts them');
    assert.deepEqual(event.body.involvedObject, {
      apiVersion: 'v1',
      kind: 'Node',
      name: 'n2',
      uid: 'uid-n2',
    });
    assert.equal(event.body.type, 'Warning');
    assert.equal(event.body.reason, 'RenderFailed');
    assert.match(event.body.message ?? '', /keeps enforcing its last script.*duplicate chain name/);

    // Retried on the back-off, not in a loop: still broken, counted again,
    // the Event rate-limited, the next delay doubled.
    await clock.advance(RETRY_MS + DEBOUNCE_MS);
    assert.deepEqual(
      rig.failures.map((f) => [f.node, f.failures, f.retryInMs]),
      [
        ['n2', 1, RETRY_MS],
        ['n2', 2, 2 * RETRY_MS],
      ],
    );
    assert.equal(await counter(metrics), 2);
    assert.equal(events.length, 1, 'at most one Event per node and reason per interval');
    assert.equal(published.get('n2')?.script, 'script n2 v1');

    // The cause goes away: the next retry publishes n2, with the causes it missed.
    rig.broken.clear();
    await clock.advance(2 * RETRY_MS + DEBOUNCE_MS);
    assert.equal(published.get('n2')?.script, 'script n2 v2');
    assert.deepEqual(published.get('n2')?.causes, ['Pod a/web']);
    assert.deepEqual(engine.failingNodes(), []);
    assert.equal(engine.lastHash('n2'), 'sha256:n2-v2');
    assert.equal(clock.pending, 0, 'no retry left scheduled');
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
  });

  it('an event that marks the failing node renders it in the next batch, before the back-off', async () => {
    unhandled.length = 0;
    const rig = setup(['n1', 'n2']);
    rig.broken.add('n2');
    await rig.clock.advance(DEBOUNCE_MS);
    assert.deepEqual(Object.keys(scripts(rig.published)), ['n1']);
    rig.broken.clear();
    rig.engine.markDirty(['n2'], ['Pod a/twin']);
    await rig.clock.advance(DEBOUNCE_MS);
    assert.equal(rig.published.get('n2')?.script, 'script n2 v1');
    assert.deepEqual(rig.engine.failingNodes(), []);
    assert.equal(rig.clock.pending, 0, 'the pending retry was cancelled');
    assert.deepEqual(unhandled, []);
  });

  it('every node failing (the cluster cannot be indexed) still leaves the engine running', async () => {
    unhandled.length = 0;
    const rig = setup(['n1', 'n2']);
    rig.broken.add('n1').add('n2');
    await rig.clock.advance(DEBOUNCE_MS);
    assert.deepEqual(rig.engine.failingNodes(), ['n1', 'n2']);
    assert.equal(rig.published.size, 0);
    rig.broken.clear();
    await rig.clock.advance(RETRY_MS + DEBOUNCE_MS);
    assert.deepEqual(Object.keys(scripts(rig.published)).sort(), ['n1', 'n2']);
    assert.deepEqual(unhandled, []);
  });

  it('a node that fails and is then deleted is forgotten, its retry cancelled', async () => {
    const rig = setup(['n1', 'n2']);
    rig.broken.add('n2');
    await rig.clock.advance(DEBOUNCE_MS);
    rig.engine.markDirty(rig.snapshot.deleteNode('n2'), ['Node n2']);
    await rig.clock.advance(DEBOUNCE_MS);
    assert.deepEqual(rig.batches.at(-1)?.removed, ['n2']);
    assert.deepEqual(rig.engine.failingNodes(), []);
    assert.equal(rig.clock.pending, 0);
  });

  it('losing the lead forgets failures and their retries', async () => {
    const rig = setup(['n1', 'n2']);
    rig.broken.add('n2');
    await rig.clock.advance(DEBOUNCE_MS);
    rig.engine.setActive(false);
    assert.deepEqual(rig.engine.failingNodes(), []);
    assert.equal(rig.clock.pending, 0);
  });
});

describe('engine callbacks that throw', () => {
  before(() => process.on('unhandledRejection', onUnhandled));
  after(() => process.off('unhandledRejection', onUnhandled));

  it('a throwing sink, onBatchDone and onError are contained and batching goes on', async () => {
    unhandled.length = 0;
    const clock = new FakeClock();
    const snapshot = new ClusterSnapshot();
    snapshot.setNode(node('n1'));
    let sinkCalls = 0;
    const errors: unknown[] = [];
    const engine = new Engine(
      snapshot,
      {
        debounceMs: DEBOUNCE_MS,
        maxDelayMs: 100,
        clock,
        render: renderFor(() => ({ broken: new Set<string>(), version: 1 })),
        onBatchDone: () => {
          throw new Error('metrics broke');
        },
        onError: (err) => {
          errors.push(err);
          if (errors.length === 1) throw new Error('the reporter broke too');
        },
      },
      () => {
        sinkCalls++;
        return Promise.reject(new Error('sink broke'));
      },
    );
    engine.setActive(true);
    await clock.advance(DEBOUNCE_MS);
    engine.markDirty(['n1']);
    await clock.advance(DEBOUNCE_MS);
    assert.equal(sinkCalls, 2, 'the second batch ran');
    assert.deepEqual(
      errors.map((e) => (e as Error).message),
      ['sink broke', 'metrics broke', 'sink broke', 'metrics broke'],
    );
    assert.deepEqual(unhandled, []);
  });
});
