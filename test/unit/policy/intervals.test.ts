/**
 * Disjoint decomposition is what makes nft accept our sets at all ("File
 * exists" on overlap), and what keeps them meaning the union of the rules: a
 * missed point is a wrongly dropped connection, an extra point a hole. Rows
 * cover the shapes policies produce; a brute-force property checks every point
 * of a small space.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseCidr, type Range } from '../../../src/policy/cidr.js';
import {
  decomposeRectangles,
  mergePortRanges,
  mergeProtocolPorts,
  type Rectangle,
} from '../../../src/policy/intervals.js';
import type { Protocol } from '../../../src/policy/model.js';

const cidr = (text: string): Range => parseCidr(text);
const rect = (
  addr: string,
  first: number,
  last = first,
  protocol: Protocol = 'TCP',
): Rectangle => ({
  addr: cidr(addr),
  protocol,
  port: { first, last },
});
/** Rectangles as short text: `first-last proto p1-p2`, addresses as /32 offsets from 10.0.0.0. */
const show = (rects: readonly Rectangle[]): string[] =>
  rects.map(
    (r) =>
      `${r.addr.family} ${r.addr.first - BASE}-${r.addr.last - BASE} ${r.protocol} ${r.port.first}-${r.port.last}`,
  );
const BASE = cidr('10.0.0.0/32').first;

describe('decomposeRectangles', () => {
  const rows: { name: string; input: Rectangle[]; expected: string[] }[] = [
    {
      name: 'one rectangle comes back unchanged',
      input: [rect('10.0.0.0/30', 80)],
      expected: ['ip 0-3 TCP 80-80'],
    },
    {
      name: 'identical rectangles collapse to one',
      input: [rect('10.0.0.0/30', 80), rect('10.0.0.0/30', 80)],
      expected: ['ip 0-3 TCP 80-80'],
    },
    {
      name: 'overlapping CIDRs with different ports split at the address boundaries',
      input: [rect('10.0.0.0/29', 80), rect('10.0.0.4/30', 443)],
      expected: ['ip 0-3 TCP 80-80', 'ip 4-7 TCP 80-80', 'ip 4-7 TCP 443-443'],
    },
    {
      name: 'a nested block in the middle leaves three address slices',
      input: [rect('10.0.0.0/28', 80), rect('10.0.0.4/31', 81)],
      expected: ['ip 0-3 TCP 80-80', 'ip 4-5 TCP 80-81', 'ip 6-15 TCP 80-80'],
    },
    {
      name: 'a nested block whose ports are already covered adds nothing',
      input: [rect('10.0.0.0/28', 1, 1000), rect('10.0.0.4/31', 80)],
      expected: ['ip 0-15 TCP 1-1000'],
    },
    {
      name: 'adjacent blocks with the same ports join into one range',
      input: [rect('10.0.0.0/31', 80), rect('10.0.0.2/31', 80)],
      expected: ['ip 0-3 TCP 80-80'],
    },
    {
      name: 'adjacent blocks with different ports stay apart',
      input: [rect('10.0.0.0/31', 80), rect('10.0.0.2/31', 81)],
      expected: ['ip 0-1 TCP 80-80', 'ip 2-3 TCP 81-81'],
    },
    {
      name: 'overlapping and adjacent port ranges on one address merge',
      input: [rect('10.0.0.1/32', 80, 90), rect('10.0.0.1/32', 85, 100), rect('10.0.0.1/32', 101)],
      expected: ['ip 1-1 TCP 80-101'],
    },
    {
      name: 'protocols never merge with each other',
      input: [rect('10.0.0.1/32', 80, 80, 'UDP'), rect('10.0.0.1/32', 80, 80, 'TCP')],
      expected: ['ip 1-1 TCP 80-80', 'ip 1-1 UDP 80-80'],
    },
    {
      name: 'a block minus a hole, given as two ranges, keeps its gap',
      input: [rect('10.0.0.0/31', 53, 53, 'UDP'), rect('10.0.0.3/32', 53, 53, 'UDP')],
      expected: ['ip 0-1 UDP 53-53', 'ip 3-3 UDP 53-53'],
    },
    {
      name: 'a slice left and re-entered with equal ports rejoins only when contiguous',
      input: [rect('10.0.0.0/30', 80), rect('10.0.0.1/32', 81), rect('10.0.0.3/32', 81)],
      expected: ['ip 0-0 TCP 80-80', 'ip 1-1 TCP 80-81', 'ip 2-2 TCP 80-80', 'ip 3-3 TCP 80-81'],
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      assert.deepEqual(show(decomposeRectangles(row.input)), row.expected);
      assert.deepEqual(
        show(decomposeRectangles([...row.input].reverse())),
        row.expected,
        'input order must not matter',
      );
    });
  }

  it('the whole IPv4 space and IPv6 space end at their last address without spilling over', () => {
    const out = decomposeRectangles([
      rect('0.0.0.0/0', 80),
      rect('::/0', 80),
      rect('255.255.255.255/32', 82),
    ]);
    assert.deepEqual(
      out.map((r) => [
        r.addr.family,
        r.addr.first.toString(16),
        r.addr.last.toString(16),
        r.port.first,
      ]),
      [
        ['ip', '0', 'fffffffe', 80],
        ['ip', 'ffffffff', 'ffffffff', 80],
        ['ip', 'ffffffff', 'ffffffff', 82],
        ['ip6', '0', 'ffffffffffffffffffffffffffffffff', 80],
      ],
    );
  });

  it('covers exactly the union and no two results share a point (brute force)', () => {
    const small = fc.record({
      a: fc.integer({ min: 0, max: 15 }),
      al: fc.integer({ min: 0, max: 5 }),
      p: fc.integer({ min: 0, max: 9 }),
      pl: fc.integer({ min: 0, max: 4 }),
      protocol: fc.constantFrom<Protocol>('TCP', 'UDP'),
    });
    fc.assert(
      fc.property(fc.array(small, { maxLength: 8 }), (items) => {
        const input: Rectangle[] = items.map((i) => ({
          addr: { family: 'ip', first: BigInt(i.a), last: BigInt(i.a + i.al) },
          protocol: i.protocol,
          port: { first: i.p, last: i.p + i.pl },
        }));
        const out = decomposeRectangles(input);
        const inside = (r: Rectangle, a: number, p: number, proto: Protocol): boolean =>
          r.protocol === proto &&
          r.addr.first <= BigInt(a) &&
          BigInt(a) <= r.addr.last &&
          r.port.first <= p &&
          p <= r.port.last;
        for (const proto of ['TCP', 'UDP'] as const) {
          for (let a = 0; a <= 21; a++) {
            for (let p = 0; p <= 14; p++) {
              const want = input.some((r) => inside(r, a, p, proto));
              const hits = out.filter((r) => inside(r, a, p, proto)).length;
              assert.equal(hits, want ? 1 : 0, `point ${a} ${proto} ${p}`);
            }
          }
        }
        assert.deepEqual(decomposeRectangles(out), out, 'decomposition is a fixed point');
      }),
      { seed: 20240611, numRuns: 300 },
    );
  });
});

describe('mergePortRanges and mergeProtocolPorts', () => {
  it('merges overlapping and adjacent port ranges and sorts them', () => {
    assert.deepEqual(
      mergePortRanges([
        { first: 100, last: 200 },
        { first: 1, last: 5 },
        { first: 201, last: 300 },
        { first: 4, last: 9 },
        { first: 11, last: 11 },
      ]),
      [
        { first: 1, last: 9 },
        { first: 11, last: 11 },
        { first: 100, last: 300 },
      ],
    );
  });

  it('keeps protocols apart and sorts them by name', () => {
    assert.deepEqual(
      mergeProtocolPorts([
        { protocol: 'UDP', port: { first: 53, last: 53 } },
        { protocol: 'TCP', port: { first: 53, last: 53 } },
        { protocol: 'SCTP', port: { first: 9, last: 9 } },
        { protocol: 'TCP', port: { first: 54, last: 60 } },
      ]),
      [
        { protocol: 'SCTP', port: { first: 9, last: 9 } },
        { protocol: 'TCP', port: { first: 53, last: 60 } },
        { protocol: 'UDP', port: { first: 53, last: 53 } },
      ],
    );
  });
});
