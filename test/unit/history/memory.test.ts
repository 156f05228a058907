/**
 * The in-memory history: the shared store table (test/support/history-suite.ts,
 * the same one Redis runs), plus its exact bounds — entries per node and
 * bytes in total, oldest first cluster-wide.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryHistoryStore } from '../../../src/history/memory.js';
import { describeHistoryStore, entry } from '../../support/history-suite.js';

describeHistoryStore('memory', (o) => Promise.resolve(new MemoryHistoryStore(o)), 0);

describe('memory history bounds', () => {
  const bigScript = (n: number): string => `${'x'.repeat(10_000)}\n# ${n}\n`;

  it('drops the oldest entries cluster-wide once the scripts exceed maxBytes', async () => {
    const store = new MemoryHistoryStore({ maxBytes: 35_000 });
    await store.record(entry('n1', 0, { script: bigScript(0) }));
    await store.record(entry('n2', 1, { script: bigScript(1) }));
    await store.record(entry('n1', 2, { script: bigScript(2) }));
    await store.record(entry('n2', 3, { script: bigScript(3) }));
    assert.ok(store.size <= 35_000, `holds ${store.size} bytes`);
    assert.deepEqual(
      (await store.list('n1')).map((e) => e.newHash),
      [entry('n1', 2).newHash],
    );
    assert.deepEqual(
      (await store.list('n2')).map((e) => e.newHash),
      [3, 1].map((n) => entry('n2', n).newHash),
    );
  });

  it('counts no bytes for entries dropped by the per-node bound', async () => {
    const store = new MemoryHistoryStore({ entriesPerNode: 2 });
    for (let n = 0; n < 10; n++) await store.record(entry('n1', n, { script: bigScript(n) }));
    const two = new MemoryHistoryStore({ entriesPerNode: 2 });
    for (let n = 8; n < 10; n++) await two.record(entry('n1', n, { script: bigScript(n) }));
    assert.equal(store.size, two.size);
  });

  it('numbers revisions per node from 1, never reusing a dropped one', async () => {
    const store = new MemoryHistoryStore({ entriesPerNode: 1 });
    for (let n = 0; n < 3; n++) await store.record(entry('n1', n));
    await store.record(entry('n2', 0));
    assert.deepEqual(
      (await store.list('n1')).map((e) => e.rev),
      ['3'],
    );
    assert.deepEqual(
      (await store.list('n2')).map((e) => e.rev),
      ['1'],
    );
  });
});
