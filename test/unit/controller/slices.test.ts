import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { AddressSet } from '../../../src/k8s/addressset.js';
import {
  observedSlice,
  SliceBook,
  type ObservedSlice,
  type SliceChanges,
} from '../../../src/controller/slices.js';

const P = 'pods-0123456789abcdef';
const Q = 'port-fedcba9876543210';
const ip = (n: number): string => `10.0.0.${n}`;
const ips = (...ns: number[]): string[] => ns.map(ip);

/** The book's slices of `setId` as index → sorted members, for comparisons. */
function slices(book: SliceBook, setId: string): Record<number, string[]> {
  const out: Record<number, string[]> = {};
  for (const [i, s] of book.slicesOf(setId)) out[i] = [...s].sort();
  return out;
}

/** Every slice of every set the book knows, as the API would list them. */
function observed(book: SliceBook): ObservedSlice[] {
  return book
    .ids()
    .flatMap((setId) =>
      [...book.slicesOf(setId)].map(([index, s]) => ({ setId, index, members: [...s] })),
    );
}

/** The guarantees of the file header that hold after any sequence of syncs. */
function checkInvariants(book: SliceBook, size: number): void {
  for (const setId of book.ids()) {
    const all = book.slicesOf(setId);
    assert.ok(all.size >= 1, `${setId} has a slice`);
    const seen = new Set<string>();
    for (const [index, s] of all) {
      assert.ok(s.size <= size, `${setId}-${index} holds at most ${size}`);
      assert.ok(s.size > 0 || all.size === 1, `${setId}-${index} is empty beside other slices`);
      for (const m of s) {
        assert.ok(!seen.has(m), `${m} is in two slices of ${setId}`);
        seen.add(m);
      }
    }
    assert.deepEqual(seen, book.membersOf(setId));
  }
}

const none: SliceChanges = { write: [], remove: [] };

describe('SliceBook', () => {
  it('a new set with no members is one empty slice, index 0', () => {
    const book = new SliceBook(3);
    assert.deepEqual(book.sync(P, []), {
      write: [{ setId: P, index: 0, members: [] }],
      remove: [],
    });
    assert.deepEqual(book.ids(), [P]);
    assert.deepEqual(slices(book, P), { 0: [] });
  });

  it('a new set fills slices in member order, lowest index first', () => {
    const book = new SliceBook(2);
    assert.deepEqual(book.sync(P, ips(10, 2, 1)), {
      write: [
        { setId: P, index: 0, members: ips(1, 2) },
        { setId: P, index: 1, members: ips(10) },
      ],
      remove: [],
    });
  });

  it('unchanged members change nothing, in any order', () => {
    const book = new SliceBook(2);
    book.sync(P, ips(1, 2, 3));
    assert.deepEqual(book.sync(P, ips(3, 1, 2)), none);
    assert.deepEqual(book.sync(P, new Set(ips(2, 3, 1))), none);
  });

  it('a leaving member rewrites only its slice, and the others stay where they are', () => {
    const book = new SliceBook(2);
    book.sync(P, ips(1, 2, 3, 4));
    assert.deepEqual(book.sync(P, ips(1, 3, 4)), {
      write: [{ setId: P, index: 0, members: ips(1) }],
      remove: [],
    });
    assert.deepEqual(slices(book, P), { 0: ips(1), 1: ips(3, 4) });
  });

  it('a joining member goes to the lowest-index slice with room', () => {
    const book = new SliceBook(2);
    book.sync(P, ips(1, 2, 3, 4, 5));
    book.sync(P, ips(1, 2, 3, 5)); // slice 1 has room now
    assert.deepEqual(book.sync(P, ips(1, 2, 3, 5, 9)), {
      write: [{ setId: P, index: 1, members: ips(3, 9) }],
      remove: [],
    });
  });

  it('a leave and a join in one slice are one write', () => {
    const book = new SliceBook(2);
    book.sync(P, ips(1, 2, 3));
    assert.deepEqual(book.sync(P, ips(1, 3, 7)), {
      write: [{ setId: P, index: 0, members: ips(1, 7) }],
      remove: [],
    });
  });

  it('a slice that becomes empty is deleted unless it is the last one', () => {
    const book = new SliceBook(2);
    book.sync(P, ips(1, 2, 3));
    assert.deepEqual(book.sync(P, ips(3)), { write: [], remove: [`${P}-0`] });
    assert.deepEqual(book.sync(P, []), {
      write: [{ setId: P, index: 1, members: [] }],
      remove: [],
    });
    assert.deepEqual(slices(book, P), { 1: [] });
  });

  it('a set emptied at once keeps its lowest-index slice', () => {
    const book = new SliceBook(1);
    book.sync(P, ips(1, 2, 3));
    assert.deepEqual(book.sync(P, []), {
      write: [{ setId: P, index: 0, members: [] }],
      remove: [`${P}-1`, `${P}-2`],
    });
  });

  it('a new slice takes the lowest free index', () => {
    const book = new SliceBook(1);
    book.sync(P, ips(1, 2, 3));
    book.sync(P, ips(2, 3)); // slice 0 deleted
    assert.deepEqual(book.sync(P, ips(2, 3, 4)), {
      write: [{ setId: P, index: 0, members: ips(4) }],
      remove: [],
    });
  });

  it('sorts members as the composed script does: IPv4 before IPv6, addresses numerically, then protocol, then port', () => {
    const book = new SliceBook(10);
    const [w] = book.sync(P, ['fd00::2', '10.0.0.10', 'fd00::10', '9.0.0.1']).write;
    assert.deepEqual(w?.members, ['9.0.0.1', '10.0.0.10', 'fd00::2', 'fd00::10']);
    const [v] = book.sync(Q, [
      '10.0.0.1 . udp . 53',
      '10.0.0.1 . tcp . 8080',
      '10.0.0.1 . tcp . 443',
    ]).write;
    assert.deepEqual(v?.members, [
      '10.0.0.1 . tcp . 443',
      '10.0.0.1 . tcp . 8080',
      '10.0.0.1 . udp . 53',
    ]);
  });

  it('keeps sets apart', () => {
    const book = new SliceBook(2);
    book.sync(P, ips(1));
    book.sync(Q, ['10.0.0.1 . tcp . 80']);
    assert.deepEqual(book.ids(), [P, Q]);
    assert.deepEqual(book.sync(P, ips(1)), none);
    assert.deepEqual([...book.membersOf(Q)], ['10.0.0.1 . tcp . 80']);
  });

  it('drop returns every slice of the set and forgets it; an unknown set has none', () => {
    const book = new SliceBook(1);
    book.sync(P, ips(1, 2));
    assert.deepEqual(book.drop(P), [`${P}-0`, `${P}-1`]);
    assert.deepEqual(book.ids(), []);
    assert.deepEqual(book.drop(P), []);
    assert.deepEqual(book.membersOf(P), new Set());
  });

  it('refuses a slice size that is not a positive integer', () => {
    assert.throws(() => new SliceBook(0), RangeError);
    assert.throws(() => new SliceBook(1.5), RangeError);
  });
});

describe('SliceBook.adopt', () => {
  it('a restart with the same members writes nothing', () => {
    const before = new SliceBook(2);
    before.sync(P, ips(1, 2, 3, 4, 5));
    before.sync(P, ips(1, 3, 5));
    before.sync(Q, []);
    const after = new SliceBook(2);
    after.adopt(observed(before));
    assert.deepEqual(after.sync(P, ips(5, 3, 1)), none);
    assert.deepEqual(after.sync(Q, []), none);
    assert.deepEqual(slices(after, P), slices(before, P));
  });

  it('a member in two slices stays in the lowest-index one, and the other slice is rewritten', () => {
    const book = new SliceBook(3);
    book.adopt([
      { setId: P, index: 1, members: ips(2, 3) },
      { setId: P, index: 0, members: ips(1, 2) },
    ]);
    assert.deepEqual(slices(book, P), { 0: ips(1, 2), 1: ips(3) });
    assert.deepEqual(book.sync(P, ips(1, 2, 3)), {
      write: [{ setId: P, index: 1, members: ips(3) }],
      remove: [],
    });
    assert.deepEqual(book.sync(P, ips(1, 2, 3)), none);
  });

  it('a slice left empty by the dedup is deleted at the next sync', () => {
    const book = new SliceBook(3);
    book.adopt([
      { setId: P, index: 0, members: ips(1) },
      { setId: P, index: 4, members: ips(1) },
    ]);
    assert.deepEqual(book.sync(P, ips(1)), { write: [], remove: [`${P}-4`] });
  });

  it('an oversize slice is kept as it is and not filled further', () => {
    const book = new SliceBook(2);
    book.adopt([{ setId: P, index: 0, members: ips(1, 2, 3) }]);
    assert.deepEqual(book.sync(P, ips(1, 2, 3)), none);
    assert.deepEqual(book.sync(P, ips(1, 2, 3, 4)), {
      write: [{ setId: P, index: 1, members: ips(4) }],
      remove: [],
    });
  });

  it('reads slices from AddressSet objects, taking absent members as empty', () => {
    const object = (name: string, members?: string[]): AddressSet =>
      ({
        apiVersion: 'nftpol.io/v1alpha1',
        kind: 'AddressSet',
        metadata: { name },
        spec: {
          setId: P,
          kind: 'addr',
          peer: 'p',
          memberCount: 0,
          ...(members ? { members } : {}),
        },
      }) as AddressSet;
    assert.deepEqual(observedSlice(object(`${P}-3`, ips(1))), {
      setId: P,
      index: 3,
      members: ips(1),
    });
    assert.deepEqual(observedSlice(object(`${P}-0`)), { setId: P, index: 0, members: [] });
    assert.equal(observedSlice(object(`${Q}-0`)), null);
    assert.equal(observedSlice(object(`${P}-01`)), null);
    assert.equal(observedSlice(object(P)), null);
  });
});

describe('SliceBook properties', () => {
  const UNIVERSE: Record<string, readonly string[]> = {
    [P]: [
      ...ips(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
      'fd00::1',
      'fd00::2',
      'fd00::a',
      'fd00::10',
    ],
    [Q]: ['10.0.0.1', '10.0.0.2', 'fd00::1'].flatMap((a) =>
      ['tcp . 80', 'tcp . 8080', 'udp . 53'].map((pp) => `${a} . ${pp}`),
    ),
  };
  const step = fc.record({
    setId: fc.constantFrom(P, Q),
    // Small changes (toggles) and wholesale replacements, and now and then a drop.
    op: fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          kind: fc.constant('toggle' as const),
          picks: fc.array(fc.nat(), { maxLength: 3 }),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('replace' as const),
          picks: fc.array(fc.nat(), { maxLength: 20 }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ kind: fc.constant('drop' as const), picks: fc.constant([]) }),
      },
    ),
  });

  it('after every sync: invariants hold, the slices hold exactly the desired members, only slices with a changed member are touched, and the API follows', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(step, { maxLength: 30 }),
        (size, steps) => {
          const book = new SliceBook(size);
          const desired = new Map<string, Set<string>>();
          /** The slice objects in the API, as the writes and deletes leave them. */
          const api = new Map<
            string,
            { setId: string; index: number; members: readonly string[] }
          >();
          for (const { setId, op } of steps) {
            const universe = UNIVERSE[setId] ?? [];
            const before = new Map(book.slicesOf(setId));
            const known = book.ids().includes(setId);
            const was = desired.get(setId) ?? new Set<string>();
            if (op.kind === 'drop') {
              const names = book.drop(setId);
              assert.deepEqual(
                names.sort(),
                [...api.keys()].filter((n) => n.startsWith(`${setId}-`)).sort(),
              );
              for (const n of names) api.delete(n);
              desired.delete(setId);
              continue;
            }
            const next = new Set(op.kind === 'replace' ? [] : was);
            for (const p of op.picks) {
              const m = universe[p % universe.length] ?? '';
              if (op.kind === 'toggle' && next.has(m)) next.delete(m);
              else next.add(m);
            }
            const changes = book.sync(setId, next);
            desired.set(setId, next);
            checkInvariants(book, size);
            assert.deepEqual(book.membersOf(setId), next);

            // Only slices a changed member left or joined, each at most once, one per change at most.
            const changed = [...next]
              .filter((m) => !was.has(m))
              .concat([...was].filter((m) => !next.has(m)));
            const after = book.slicesOf(setId);
            const allowed = new Set<number>();
            for (const m of changed) {
              for (const [i, s] of [...before, ...after]) if (s.has(m)) allowed.add(i);
            }
            if (!known) allowed.add(0);
            const touched = [
              ...changes.write.map((w) => w.index),
              ...changes.remove.map((n) => Number(n.slice(setId.length + 1))),
            ];
            assert.equal(new Set(touched).size, touched.length, 'each slice once');
            for (const i of touched)
              assert.ok(allowed.has(i), `slice ${i} touched without a changed member`);
            assert.ok(touched.length <= Math.max(changed.length, known ? 0 : 1));
            // Members that stayed did not move.
            for (const m of next) {
              if (!was.has(m)) continue;
              const from = [...before].find(([, s]) => s.has(m))?.[0];
              const to = [...after].find(([, s]) => s.has(m))?.[0];
              assert.equal(to, from, `${m} moved`);
            }

            for (const w of changes.write) {
              assert.deepEqual(w.members, [...w.members].sort(compareForTest));
              api.set(`${w.setId}-${w.index}`, w);
            }
            for (const n of changes.remove)
              assert.ok(api.delete(n), `${n} removed but never written`);
            const inApi = [...api.values()].filter((s) => s.setId === setId);
            assert.deepEqual(
              Object.fromEntries(inApi.map((s) => [s.index, [...s.members].sort()])),
              slices(book, setId),
            );
          }
          // A restart: a new book adopts what is in the API and, given the same members, writes nothing.
          const restarted = new SliceBook(size);
          restarted.adopt(api.values());
          for (const [setId, members] of desired)
            assert.deepEqual(restarted.sync(setId, members), none);
          assert.deepEqual(restarted.ids(), book.ids());
        },
      ),
      { seed: 20250113, numRuns: 300 },
    );
  });
});

/**
 * The composed script's order, restated for the universe above (addresses
 * differ only in their last part): IPv4 first, the address, protocol, port.
 */
function compareForTest(a: string, b: string): number {
  const key = (m: string): [number, number, string, number] => {
    const [addr = '', proto = '', port = '0'] = m.split(' . ');
    const v6 = addr.includes(':');
    const last = v6
      ? parseInt(addr.slice(addr.lastIndexOf(':') + 1), 16)
      : Number(addr.slice(addr.lastIndexOf('.') + 1));
    return [v6 ? 1 : 0, last, proto, Number(port)];
  };
  const [x, y] = [key(a), key(b)];
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) return (x[i] ?? 0) < (y[i] ?? 0) ? -1 : 1;
  }
  return 0;
}
