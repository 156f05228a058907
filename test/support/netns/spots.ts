/**
 * Spot checks: what a test case says the kernel must do for a few named
 * pairs, independent of the oracle. The oracle comparison covers every probe;
 * spots pin the case's point, so a case cannot pass vacuously when the oracle
 * and the translation are wrong the same way.
 */
import assert from 'node:assert/strict';
import type { ProbeReport } from './probe.js';

/**
 * `[from, to, port/protocol, allowed]`: every probe (both families) from the
 * endpoint labelled `from` to `to` on that port must be allowed (or dropped).
 * Labels are `ns/pod`, `host/<node>`, or `~` for any slot no pod uses.
 */
export type Spot = readonly [from: string, to: string, portProtocol: string, allowed: boolean];

/** @throws AssertionError naming the spot and what the kernel did. */
export function assertSpots(report: ProbeReport, spots: readonly Spot[]): void {
  for (const [from, to, pp, allowed] of spots) {
    const [portText, protocol] = pp.split('/');
    const matches = (label: string, kind: string, want: string): boolean =>
      want === '~' ? kind === 'unused' : label === want;
    const recs = report.records.filter(
      (r) =>
        matches(r.source.label, r.source.kind, from) &&
        matches(r.destination.label, r.destination.kind, to) &&
        r.spec.port === Number(portText) &&
        r.spec.protocol === protocol,
    );
    assert.ok(recs.length > 0, `spot ${from} → ${to} ${pp}: no such probe`);
    for (const r of recs)
      assert.equal(
        r.result.outcome === 'open',
        allowed,
        `spot ${from} (${r.spec.from}) → ${to} (${r.spec.to}) ${pp}: expected ${allowed ? 'allowed' : 'dropped'}, kernel: ${r.result.outcome}`,
      );
  }
}
