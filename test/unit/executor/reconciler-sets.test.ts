/**
 * What the reconciler loads when, once scripts declare shared sets (v2):
 * a rules change is one load of the composed script (rules + members); a
 * members-only change is one delta and no status write, and no read of the
 * table; a delta nft rejects falls back to the whole script; a new script
 * waits (bounded, on the fake clock) for sets not seen yet, then loads them
 * empty and says so in SetsReady; members drifted by hand are repaired;
 * invalid members are skipped and named; a restart adopts the members in
 * force. The table is the in-memory fake (test/support/fake-nft.ts), which
 * applies element lines as nft does, atomically.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { composeScript, memberDelta } from '../../../src/nft/compose.js';
import { hashScript } from '../../../src/nft/hash.js';
import { counterValue, harness, nfw, type Harness } from '../../support/reconciler-harness.js';

const X = 'pods-0123456789abcdef';
const Y = 'port-fedcba9876543210';
const X4 = 'pods_0123456789abcdef_4';
const X6 = 'pods_0123456789abcdef_6';
const Y4 = 'port_fedcba9876543210_4';

/** A rules script declaring `sets` (nft names) as render does, plus a chain named `chain`. */
function rules(chain: string, ...sets: string[]): string {
  const decl = sets.map((name) => {
    const addr = name.endsWith('_4') ? 'ipv4_addr' : 'ipv6_addr';
    const type = name.startsWith('port_') ? `${addr} . inet_proto . inet_service` : addr;
    return `\tset ${name} {\n\t\ttype ${type}\n\t}\n`;
  });
  return `add table inet nftpol\ndelete table inet nftpol\ntable inet nftpol {\n${decl.join('')}\tchain ${chain} {\n\t}\n}\n`;
}

const A = rules('a', X4, X6);
const B = rules('b', X4, X6, Y4);

const members = (entries: Record<string, readonly string[]>) => new Map(Object.entries(entries));

/**
 * A harness whose host is usable and which applied `script` with X's slice
 * 0 = `xs` (of which `loaded` reach the kernel).
 */
async function appliedWithSets(
  script: string,
  xs: readonly string[],
  loaded: readonly string[] = xs,
): Promise<Harness> {
  const h = harness();
  await h.r.probeHost();
  await h.slice(X, 0, xs);
  h.r.observe(nfw(script, { addressSets: [X] }));
  await h.r.idle();
  assert.deepEqual(h.take(), ['probed', 'applied:changed', 'statusWritten']);
  assert.deepEqual(h.table.loads, [composeScript(script, members({ [X]: loaded }))]);
  await h.r.requestPass(); // the first read of the table: its counters go to the status
  h.take();
  return h;
}

describe('NodeReconciler with AddressSets', () => {
  it('loads the rules and the members of the sets in one composed script', async () => {
    const h = await appliedWithSets(A, ['10.0.0.2', 'fd00::1', '10.0.0.1']);
    assert.deepEqual(h.table.members(X4), ['10.0.0.1', '10.0.0.2']);
    assert.deepEqual(h.table.members(X6), ['fd00::1']);
    assert.equal(h.condition('SetsReady'), 'True/SetsReady');
    assert.equal(h.condition('Ready'), 'True/Ready');
    assert.equal(await counterValue(h.metrics, 'nftpol_executor_loads_total', { kind: 'full' }), 1);
  });

  it('applies a members-only change as one delta: no table read, no status write', async () => {
    const h = await appliedWithSets(A, ['10.0.0.1', '10.0.0.2']);
    const patches = h.patches.length;
    const lists = h.table.lists;
    await h.slice(X, 0, ['10.0.0.2', '10.0.0.3'], 250);
    assert.deepEqual(h.take(), ['membersApplied']);
    assert.equal(
      h.table.loads.at(-1),
      'delete element inet nftpol pods_0123456789abcdef_4 { 10.0.0.1 }\n' +
        'add element inet nftpol pods_0123456789abcdef_4 { 10.0.0.3 }\n',
    );
    assert.deepEqual(h.table.members(X4), ['10.0.0.2', '10.0.0.3']);
    assert.equal(h.patches.length, patches, 'membership is not status');
    assert.equal(h.table.lists, lists, 'a members pass does not read the table');
    assert.equal(
      await counterValue(h.metrics, 'nftpol_executor_member_updates_total', { result: 'ok' }),
      1,
    );
    assert.equal(
      await counterValue(h.metrics, 'nftpol_executor_loads_total', { kind: 'delta' }),
      1,
    );
    const lag = await h.metrics.registry
      .getSingleMetric('nftpol_executor_member_lag_seconds')
      ?.get();
    assert.equal(
      lag?.values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum'))?.value,
      0.25,
    );
  });

  it('loads nothing for a slice change that changes no member of the sets', async () => {
    const h = await appliedWithSets(A, ['10.0.0.1']);
    await h.slice(X, 0, ['10.0.0.1', '10.0.0.1']);
    assert.deepEqual(h.take(), []);
    assert.equal(h.table.loads.length, 1);
  });

  it('loads the whole composed script when the rules change, with the members of its sets', async () => {
    const h = await appliedWithSets(A, ['10.0.0.1']);
    await h.slice(Y, 0, ['10.0.0.7 . tcp . 8080']);
    assert.deepEqual(h.take(), [], 'Y is not referenced yet: nothing to load');
    h.r.observe(nfw(B, { addressSets: [X, Y], generation: 2 }));
    await h.r.idle();
    assert.deepEqual(h.take(), ['applied:changed', 'statusWritten']);
    assert.equal(
      h.table.loads.at(-1),
      composeScript(B, members({ [X]: ['10.0.0.1'], [Y]: ['10.0.0.7 . tcp . 8080'] })),
    );
    assert.deepEqual(h.table.members(Y4), ['10.0.0.7 . tcp . 8080']);
  });

  it('falls back to the whole script when nft rejects the delta', async () => {
    const h = await appliedWithSets(A, ['10.0.0.1']);
    const before = members({ [X]: ['10.0.0.1'] });
    const after = members({ [X]: ['10.0.0.9'] });
    h.table.rejects.set(memberDelta(A, before, after)!, 'Error: Could not process rule');
    await h.slice(X, 0, ['10.0.0.9']);
    assert.deepEqual(h.take(), ['membersFailed', 'applied:members']);
    assert.equal(h.table.loads.at(-1), composeScript(A, after));
    assert.deepEqual(h.table.members(X4), ['10.0.0.9']);
    assert.equal(
      await counterValue(h.metrics, 'nftpol_executor_member_updates_total', { result: 'failed' }),
      1,
    );
  });

  it('waits for a set not seen yet, then loads the script with the members once it arrives', async () => {
    const h = harness();
    await h.r.probeHost();
    h.sets.retarget(new Set([X])); // the watch was just (re)started: its list is not in
    h.r.observe(nfw(A, { addressSets: [X] }));
    await h.r.idle();
    assert.deepEqual(h.take(), ['probed', 'waitingForSets']);
    assert.deepEqual(h.table.loads, [], 'the new script waits for its set');
    assert.deepEqual(h.patches, [], 'no status while the wait is on');
    await h.advance(500);
    assert.deepEqual(h.take(), []);
    h.sets.listCompleted();
    await h.slice(X, 0, ['10.0.0.1']);
    assert.deepEqual(h.take(), ['applied:changed', 'statusWritten']);
    assert.deepEqual(h.table.loads, [composeScript(A, members({ [X]: ['10.0.0.1'] }))]);
    assert.equal(h.condition('SetsReady'), 'True/SetsReady');
    assert.equal(h.clock.pending, 0, 'the wait timer is gone');
  });

  it('loads a set that never arrives empty after set-wait-ms and says so; fills it when it comes', async () => {
    const h = harness({ setWaitMs: 1000 });
    await h.r.probeHost();
    h.r.observe(nfw(A, { addressSets: [X] }));
    await h.r.idle();
    assert.deepEqual(h.take(), ['probed', 'waitingForSets']);
    await h.advance(999);
    assert.deepEqual(h.table.loads, []);
    await h.advance(1);
    assert.deepEqual(h.take(), ['applied:changed', 'statusWritten']);
    assert.deepEqual(h.table.loads, [A], 'no members: the rules script itself');
    assert.equal(h.condition('SetsReady'), 'False/SetsMissing');
    assert.match(h.message('SetsReady'), new RegExp(`^1 AddressSet not found .*: ${X}$`));
    assert.equal(h.condition('Ready'), 'False/SetsMissing');
    assert.equal(h.condition('Applied'), 'True/Applied');

    await h.slice(X, 0, ['10.0.0.1']);
    assert.deepEqual(h.take(), ['membersApplied', 'statusWritten']);
    assert.equal(h.table.loads.at(-1), `add element inet nftpol ${X4} { 10.0.0.1 }\n`);
    assert.equal(h.condition('SetsReady'), 'True/SetsReady');
    assert.equal(h.condition('Ready'), 'True/Ready');
  });

  it('keeps the members of a set that vanished during the wait, then empties it', async () => {
    const h = await appliedWithSets(A, ['10.0.0.1']);
    h.sets.remove(`${X}-0`);
    h.r.observeSets(h.sets);
    await h.r.idle();
    assert.deepEqual(h.take(), [], 'within the wait: members stay as they are');
    assert.deepEqual(h.table.members(X4), ['10.0.0.1']);
    await h.advance(1000);
    assert.deepEqual(h.take(), ['membersApplied', 'statusWritten']);
    assert.deepEqual(h.table.members(X4), []);
    assert.equal(h.condition('SetsReady'), 'False/SetsMissing');
  });

  it('finds members deleted by hand as drift and repairs them', async () => {
    const h = await appliedWithSets(A, ['10.0.0.1', '10.0.0.2']);
    h.table.deleteElement(X4, '10.0.0.2');
    await h.r.requestPass();
    assert.deepEqual(h.take(), ['drifted', 'statusWritten', 'applied:repair', 'statusWritten']);
    assert.match(
      h.patches.at(-2)?.conditions?.find((c) => c.type === 'InSync')?.message ?? '',
      new RegExp(X4),
    );
    assert.deepEqual(h.table.members(X4), ['10.0.0.1', '10.0.0.2']);
    await h.r.requestPass();
    assert.deepEqual(h.take(), [], 'in sync again');
  });

  it('sees no drift after a delta: the members loaded are the expectation', async () => {
    const h = await appliedWithSets(A, ['10.0.0.1']);
    await h.slice(X, 0, ['10.0.0.1', 'fd00::2']);
    assert.deepEqual(h.take(), ['membersApplied']);
    await h.r.requestPass();
    assert.deepEqual(h.take(), []);
  });

  it('skips an invalid member, loads the rest and names the slice and member', async () => {
    const h = await appliedWithSets(A, ['10.0.0.1', '10.0.0.300'], ['10.0.0.1']);
    assert.deepEqual(h.table.members(X4), ['10.0.0.1']);
    assert.equal(h.condition('SetsReady'), 'False/InvalidMembers');
    assert.equal(
      h.message('SetsReady'),
      `skipped 1 invalid member: slice ${X}-0: "10.0.0.300" is not an IPv4 or IPv6 address`,
    );
    await h.slice(X, 0, ['10.0.0.1']);
    assert.deepEqual(h.take(), ['statusWritten'], 'fixed: the status says so, nothing to load');
    assert.equal(h.condition('SetsReady'), 'True/SetsReady');
  });

  it('adopts the members in force after a restart and brings them up to date with a delta', async () => {
    const h = harness();
    const old = composeScript(A, members({ [X]: ['10.0.0.1', '10.0.0.2'] }));
    await h.table.load(old);
    h.table.loads.length = 0;
    await h.r.probeHost();
    h.sets.retarget(new Set([X]));
    h.r.observe(
      nfw(A, { addressSets: [X], status: { appliedHash: hashScript(A), observedGeneration: 1 } }),
    );
    await h.r.idle();
    assert.deepEqual(h.take(), ['probed', 'adopted']);
    assert.deepEqual(h.table.loads, [], 'adopted, and the sets are not listed yet: nothing loaded');
    h.sets.listCompleted();
    await h.slice(X, 0, ['10.0.0.2', '10.0.0.3']);
    assert.deepEqual(h.take(), ['membersApplied', 'statusWritten']);
    assert.deepEqual(h.table.loads, [
      `delete element inet nftpol ${X4} { 10.0.0.1 }\nadd element inet nftpol ${X4} { 10.0.0.3 }\n`,
    ]);
    assert.equal(h.patches.at(-1)?.appliedHash, hashScript(A));
  });

  it('takes the lag from the slice written-at annotation to the delta in the kernel', async () => {
    const h = await appliedWithSets(A, ['10.0.0.1']);
    await h.slice(X, 0, ['10.0.0.2'], 1500);
    const lag = await h.metrics.registry
      .getSingleMetric('nftpol_executor_member_lag_seconds')
      ?.get();
    const count = lag?.values.find((v) =>
      (v as { metricName?: string }).metricName?.endsWith('_count'),
    )?.value;
    const sum = lag?.values.find((v) =>
      (v as { metricName?: string }).metricName?.endsWith('_sum'),
    )?.value;
    assert.deepEqual([count, sum], [1, 1.5]);
  });

  it('restores the script in force when its table drifts while a new script waits for its sets', async () => {
    const h = await appliedWithSets(A, ['10.0.0.1']);
    h.r.observe(nfw(B, { addressSets: [X, Y], generation: 2 }));
    await h.r.idle();
    assert.deepEqual(h.take(), ['waitingForSets']);
    h.table.deleteElement(X4, '10.0.0.1');
    await h.r.requestPass();
    assert.deepEqual(h.take(), ['drifted', 'statusWritten', 'applied:repair']);
    assert.equal(h.table.loads.at(-1), composeScript(A, members({ [X]: ['10.0.0.1'] })));
    await h.advance(1000);
    assert.deepEqual(h.take(), ['applied:changed', 'statusWritten'], 'then B, Y empty');
    assert.equal(h.condition('SetsReady'), 'False/SetsMissing');
  });

  it('never waits for a set the NodeFirewall does not list: it is loaded empty', async () => {
    const h = harness();
    await h.r.probeHost();
    h.r.observe(nfw(A));
    await h.r.idle();
    assert.deepEqual(h.take(), ['probed', 'applied:changed', 'statusWritten']);
    assert.deepEqual(h.table.loads, [A]);
    assert.equal(h.condition('SetsReady'), 'True/SetsReady');
  });
});
