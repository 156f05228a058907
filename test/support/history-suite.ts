/**
 * One table of behaviours every HistoryStore must have, run against the
 * in-memory store (test/unit/history/memory.test.ts) and against Redis
 * Streams on a real redis-server (test/integration/history-redis.test.ts), so
 * that switching `--redis-url` on or off changes where the history lives and
 * nothing else. Redis trims with `MAXLEN ~`, whole macro-nodes at a time, so
 * the factory states how many entries beyond the bound it may keep.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HistoryStore, NewHistoryEntry } from '../../src/history/store.js';

/** Makes an empty store keeping `entriesPerNode` entries per node. */
export type HistoryStoreFactory = (options: {
  readonly entriesPerNode: number;
}) => Promise<HistoryStore>;

/** An entry for `node` whose hashes and script are derived from `n`. */
export function entry(
  node: string,
  n: number,
  over: Partial<NewHistoryEntry> = {},
): NewHistoryEntry {
  return {
    node,
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    oldHash: n === 0 ? null : `sha256:${String(n - 1).padStart(64, '0')}`,
    newHash: `sha256:${String(n).padStart(64, '0')}`,
    causes: [`Pod shop/web-${n}`],
    script: `table inet nftpol {\n  # revision ${n}\n}\n`,
    ...over,
  };
}

async function recordAll(store: HistoryStore, entries: readonly NewHistoryEntry[]): Promise<void> {
  for (const e of entries) await store.record(e);
}

interface Case {
  readonly name: string;
  readonly entriesPerNode?: number;
  readonly run: (store: HistoryStore, trimSlack: number) => Promise<void>;
}

const CASES: readonly Case[] = [
  {
    name: 'lists a node’s entries newest first, each with its own revision',
    run: async (store) => {
      await recordAll(
        store,
        [0, 1, 2].map((n) => entry('n1', n)),
      );
      const listed = await store.list('n1');
      assert.deepEqual(
        listed.map((e) => e.newHash),
        [2, 1, 0].map((n) => entry('n1', n).newHash),
      );
      assert.equal(new Set(listed.map((e) => e.rev)).size, 3);
    },
  },
  {
    name: 'keeps every field of an entry, the whole script, the causes and a null old hash',
    run: async (store) => {
      const first = entry('n1', 0, { causes: ['NetworkPolicy shop/allow', 'resync'] });
      await store.record(first);
      const [listed] = await store.list('n1');
      assert.ok(listed !== undefined);
      const got = await store.get('n1', listed.rev);
      assert.deepEqual(got, { ...first, rev: listed.rev });
      assert.equal(got?.oldHash, null);
    },
  },
  {
    name: 'keeps each node’s history apart',
    run: async (store) => {
      await recordAll(store, [entry('n1', 0), entry('n2', 1), entry('n1', 2)]);
      assert.deepEqual(
        (await store.list('n1')).map((e) => e.node),
        ['n1', 'n1'],
      );
      assert.deepEqual(
        (await store.list('n2')).map((e) => e.newHash),
        [entry('n2', 1).newHash],
      );
    },
  },
  {
    name: 'returns at most `limit` entries, the newest',
    run: async (store) => {
      await recordAll(
        store,
        [0, 1, 2, 3, 4].map((n) => entry('n1', n)),
      );
      assert.deepEqual(
        (await store.list('n1', { limit: 2 })).map((e) => e.newHash),
        [4, 3].map((n) => entry('n1', n).newHash),
      );
    },
  },
  {
    name: 'answers an empty list for an unknown node and null for an unknown revision',
    run: async (store) => {
      await store.record(entry('n1', 0));
      assert.deepEqual(await store.list('nowhere'), []);
      assert.equal(await store.get('n1', '999999-0'), null);
      assert.equal(await store.get('n1', 'not-a-rev'), null);
      assert.equal(await store.get('nowhere', '1'), null);
    },
  },
  {
    name: 'keeps at least the newest entriesPerNode entries of a node and drops the oldest',
    entriesPerNode: 3,
    run: async (store, trimSlack) => {
      const count = 250;
      await recordAll(
        store,
        Array.from({ length: count }, (_, n) => entry('n1', n)),
      );
      const listed = await store.list('n1', { limit: 1000 });
      assert.ok(listed.length >= 3, `kept ${listed.length}`);
      assert.ok(listed.length <= 3 + trimSlack, `kept ${listed.length}, bound 3 + ${trimSlack}`);
      assert.deepEqual(
        listed.slice(0, 3).map((e) => e.newHash),
        [249, 248, 247].map((n) => entry('n1', n).newHash),
      );
      assert.equal(
        await store.get('n1', listed[listed.length - 1]!.rev).then((e) => e?.node),
        'n1',
      );
    },
  },
];

/**
 * Runs the shared table against stores from `factory`.
 * @param trimSlack entries beyond entriesPerNode the store may keep (0 = exact).
 */
export function describeHistoryStore(
  name: string,
  factory: HistoryStoreFactory,
  trimSlack: number,
): void {
  describe(`${name} history store`, () => {
    for (const c of CASES) {
      it(c.name, async () => {
        const store = await factory({ entriesPerNode: c.entriesPerNode ?? 50 });
        try {
          await c.run(store, trimSlack);
        } finally {
          await store.close();
        }
      });
    }
  });
}
