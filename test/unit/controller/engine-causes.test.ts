/**
 * The causes the engine carries with its dirty marks, for the change
 * history: which objects made each node dirty since its last render. Batches
 * are run by hand with flush() on a clock whose timers never fire.
 */
import { EMPTY_SUMMARY } from '../../../src/k8s/nodefirewall.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine, type Batch, type RenderNode } from '../../../src/controller/engine.js';
import type { Clock } from '../../../src/telemetry/clock.js';
import { ClusterSnapshot } from '../../../src/controller/snapshot.js';
import { MAX_CAUSES } from '../../../src/history/store.js';
import { node } from '../../support/builders.js';

const NEVER: Clock = { now: () => 0, setTimer: () => 0, clearTimer: () => undefined };

const render: RenderNode = (_cluster, n) => ({
  node: n,
  script: `script ${n}`,
  scriptHash: `sha256:${n}`,
  summary: EMPTY_SUMMARY,
  addressSets: [],
});

/** Runs `steps` on an active engine over nodes n1, n2 and returns the causes per node of each batch. */
async function causesOf(
  steps: (engine: Engine) => Promise<void>,
): Promise<Array<Record<string, readonly string[] | undefined>>> {
  const snapshot = new ClusterSnapshot();
  for (const n of ['n1', 'n2']) snapshot.setNode(node(n));
  const batches: Batch[] = [];
  const engine = new Engine(
    snapshot,
    { debounceMs: 1, maxDelayMs: 1, clock: NEVER, render },
    (b) => {
      batches.push(b);
      return Promise.resolve();
    },
  );
  await steps(engine);
  return batches.map((b) => Object.fromEntries(b.rendered.map((r) => [r.node, r.causes])));
}

const rows: ReadonlyArray<{
  readonly name: string;
  readonly steps: (engine: Engine) => Promise<void>;
  readonly want: Array<Record<string, readonly string[] | undefined>>;
}> = [
  {
    name: 'activation renders every node with the cause resync',
    steps: async (e) => {
      e.setActive(true);
      await e.flush();
    },
    want: [{ n1: ['resync'], n2: ['resync'] }],
  },
  {
    name: 'each node gets the causes of the marks that touched it, sorted and without repeats',
    steps: async (e) => {
      e.setActive(true);
      await e.flush();
      e.markDirty(['n1', 'n2'], ['Pod shop/web-1']);
      e.markDirty(['n1'], ['NetworkPolicy shop/allow']);
      e.markDirty(['n1'], ['Pod shop/web-1']);
      await e.flush();
    },
    want: [
      { n1: ['resync'], n2: ['resync'] },
      { n1: ['NetworkPolicy shop/allow', 'Pod shop/web-1'], n2: ['Pod shop/web-1'] },
    ],
  },
  {
    name: 'a batch takes the causes with it: the next one starts afresh',
    steps: async (e) => {
      e.setActive(true);
      e.markDirty(['n1'], ['Node n1']);
      await e.flush();
      e.markDirty(['n1'], ['Namespace shop']);
      await e.flush();
    },
    want: [{ n1: ['Node n1', 'resync'], n2: ['resync'] }, { n1: ['Namespace shop'] }],
  },
  {
    name: 'a mark without a cause leaves the node without causes',
    steps: async (e) => {
      e.setActive(true);
      await e.flush();
      e.markDirty(['n2']);
      await e.flush();
    },
    want: [{ n1: ['resync'], n2: ['resync'] }, { n2: undefined }],
  },
  {
    name: 'marks made while inactive are dropped with their causes',
    steps: async (e) => {
      e.markDirty(['n1'], ['Pod shop/early']);
      e.setActive(true);
      await e.flush();
    },
    want: [{ n1: ['resync'], n2: ['resync'] }],
  },
  {
    name: `more than ${MAX_CAUSES} causes are summarised as +N more`,
    steps: async (e) => {
      e.setActive(true);
      await e.flush();
      for (let i = 0; i < MAX_CAUSES + 5; i++) {
        e.markDirty(['n1'], [`Pod shop/p${String(i).padStart(2, '0')}`]);
      }
      await e.flush();
    },
    want: [
      { n1: ['resync'], n2: ['resync'] },
      {
        n1: [
          ...Array.from(
            { length: MAX_CAUSES },
            (_, i) => `Pod shop/p${String(i).padStart(2, '0')}`,
          ),
          '+5 more',
        ],
      },
    ],
  },
];

describe('engine causes', () => {
  for (const row of rows) {
    it(row.name, async () => {
      assert.deepEqual(await causesOf(row.steps), row.want);
    });
  }
});
