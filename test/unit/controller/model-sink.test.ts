/**
 * The controller's model sink on shared pod IPs: when two live pods claim one
 * IP (a reused IP, a stale status), the controller says so in a warning that
 * names both pods and the one whose policies the node enforces for the IP.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine } from '../../../src/controller/engine.js';
import { controllerModelSink } from '../../../src/controller/model-sink.js';
import { Publisher } from '../../../src/controller/publisher.js';
import { SetPublisher } from '../../../src/controller/set-publisher.js';
import { ClusterSnapshot } from '../../../src/controller/snapshot.js';
import { WarningEvents } from '../../../src/k8s/events.js';
import { createLogger } from '../../../src/telemetry/log.js';
import { createControllerMetrics } from '../../../src/telemetry/metrics.js';
import { pod } from '../../support/builders.js';
import { FakeClock } from '../../support/fake-clock.js';

function sinkWithLog() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    component: 'test',
    level: 'warn',
    destination: {
      write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>),
    },
  });
  const clock = new FakeClock();
  const snapshot = new ClusterSnapshot();
  const engine = new Engine(snapshot, { debounceMs: 10, maxDelayMs: 10, clock }, () =>
    Promise.resolve(),
  );
  const publisher = new Publisher(
    { apply: () => Promise.resolve(), remove: () => Promise.resolve() },
    { concurrency: 1, retryDelayMs: 10, clock, nodeUid: () => 'uid', retry: () => undefined, log },
  );
  const events = new WarningEvents({
    api: { createNamespacedEvent: () => Promise.resolve() },
    identity: 'test',
    intervalMs: 0,
    log,
    clock,
  });
  const setPublisher = new SetPublisher(
    { apply: () => Promise.resolve(), remove: () => Promise.resolve() },
    { sliceSize: 100, concurrency: 1, retryDelayMs: 10, clock, retry: () => undefined, log },
  );
  const { sink } = controllerModelSink({
    snapshot,
    engine,
    publisher,
    setPublisher,
    events,
    log,
    metrics: createControllerMetrics(),
    nodeUids: new Map(),
    active: () => false,
    onMarked: () => undefined,
  });
  return { sink, lines };
}

const ref = (qualified: string) => {
  const [namespace = '', name = ''] = qualified.split('/');
  return { namespace, name, uid: qualified };
};

describe('controller model sink', () => {
  it('warns when a pod claims an IP another live pod on another node has, naming both and the one enforced', () => {
    const { sink, lines } = sinkWithLog();
    const old = pod('a/web', {}, { nodeName: 'n1', ips: ['10.0.0.5'] });
    const twin = { ...pod('b/twin', {}, { nodeName: 'n2', ips: ['10.0.0.5'] }), terminating: true };
    sink.pod(ref('a/web'), old);
    assert.deepEqual(lines, [], 'one pod alone is no warning');
    sink.pod(ref('b/twin'), twin);
    assert.deepEqual(
      lines.map((l) => [l['msg'], l['ip'], l['pods'], l['enforcedFor'], l['why']]),
      [
        [
          'two pods claim one IP; only one pod’s policies can be enforced for it',
          '10.0.0.5',
          ['b/twin', 'a/web'],
          'a/web',
          'b/twin is terminating',
        ],
      ],
    );
  });

  it('says nothing when the other claimant is terminal (its IP may be reused)', () => {
    const { sink, lines } = sinkWithLog();
    sink.pod(
      ref('a/done'),
      pod('a/done', {}, { nodeName: 'n1', ips: ['10.0.0.5'], phase: 'Succeeded' }),
    );
    sink.pod(ref('b/new'), pod('b/new', {}, { nodeName: 'n2', ips: ['10.0.0.5'] }));
    assert.deepEqual(lines, []);
  });
});
