/**
 * The executor's state machine (NodeReconciler) without root, nft or an API
 * server (test/support/reconciler-harness.ts): an in-memory table, a
 * scripted host probe, a recorded status patch and a fake clock that moves
 * only when told.
 * Each test drives events — the watch's view of the NodeFirewall, a probe
 * verdict, a pass, a timer — and checks the exact loads, events and
 * conditions that follow.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashScript } from '../../../src/nft/hash.js';
import { applied, counterValue, harness, nfw, UNUSABLE } from '../../support/reconciler-harness.js';

const A = 'table inet nftpol {\nchain a\ncounter drop comment "shop/web ingress denied"\n}';
const B = 'table inet nftpol {\nchain b\n}';
const C = 'table inet nftpol {\nchain c\n}';
describe('NodeReconciler', () => {
  it('applies a first script and reports Applied, InSync, HostUsable and Ready', async () => {
    const h = await applied(A);
    assert.deepEqual(h.table.loads, [A]);
    assert.equal(h.r.state.applyCount, 1);
    assert.deepEqual(
      ['Applied', 'InSync', 'HostUsable', 'Ready'].map((t) => h.condition(t)),
      ['True/Applied', 'True/InSync', 'True/HostUsable', 'True/Ready'],
    );
    const status = h.patches.at(-1);
    assert.equal(status?.appliedHash, hashScript(A));
    assert.equal(status?.lastAppliedTime, '2030-01-01T00:00:00Z');
    assert.equal(status?.nftVersion, 'v1.0.6 (fake)');
  });

  it('applies nothing before the host is probed, and nothing on an unusable host, probing again with back-off', async () => {
    const h = harness();
    h.probes.push(UNUSABLE, UNUSABLE);
    h.r.observe(nfw(A));
    await h.r.idle();
    assert.deepEqual(h.patches, [], 'not probed yet: nothing true to report');
    await h.r.probeHost();
    assert.deepEqual(h.take(), ['probed', 'statusWritten']);
    assert.deepEqual(h.table.loads, []);
    assert.equal(h.condition('Ready'), 'False/HostUnusable');
    assert.equal(h.condition('Applied'), 'Unknown/NotAttempted');
    await h.advance(49);
    assert.deepEqual(h.take(), [], 'the second probe waits 50 ms');
    await h.advance(1);
    assert.deepEqual(h.take(), ['probed'], 'still unusable: status unchanged, not rewritten');
    await h.advance(99);
    assert.deepEqual(h.take(), [], 'the third probe waits 100 ms');
    await h.advance(1);
    assert.deepEqual(h.take(), ['probed', 'applied:changed', 'statusWritten']);
    assert.equal(h.condition('Ready'), 'True/Ready');
    assert.equal(h.clock.pending, 0, 'a usable host is not probed again');
  });

  it('adopts the table in force after a restart instead of reloading it', async () => {
    const h = harness();
    await h.table.load(A);
    h.table.loads.length = 0;
    await h.r.probeHost();
    h.r.observe(
      nfw(A, {
        generation: 2,
        status: {
          observedGeneration: 1,
          appliedHash: hashScript(A),
          lastAppliedTime: '2029-12-31T00:00:00Z',
        },
      }),
    );
    await h.r.idle();
    assert.deepEqual(h.take(), ['probed', 'adopted', 'statusWritten']);
    assert.deepEqual(h.table.loads, []);
    assert.equal(h.patches.at(-1)?.observedGeneration, 2);
    assert.equal(h.patches.at(-1)?.lastAppliedTime, '2029-12-31T00:00:00Z');
    assert.equal(h.condition('Applied'), 'True/Applied');
  });

  it('does not adopt a table whose status names another script; it loads the spec', async () => {
    const h = harness();
    await h.table.load(B);
    h.table.loads.length = 0;
    await h.r.probeHost();
    h.r.observe(nfw(A, { status: { appliedHash: hashScript(B) } }));
    await h.r.idle();
    assert.deepEqual(h.take(), ['probed', 'applied:changed', 'statusWritten']);
    assert.deepEqual(h.table.loads, [A]);
  });

  it('keeps the old script when nft rejects a new one and retries it on a doubling back-off', async () => {
    const h = await applied(A);
    h.table.rejects.set(B, 'Error: No such file or directory');
    h.r.observe(nfw(B, { generation: 2 }));
    await h.r.idle();
    assert.deepEqual(h.take(), ['applyFailed', 'statusWritten']);
    assert.equal(h.condition('Applied'), 'False/ApplyFailed');
    assert.equal(h.patches.at(-1)?.appliedHash, hashScript(A), 'the old script is in the kernel');
    await h.r.requestPass();
    assert.deepEqual(h.take(), [], 'a pass before the back-off does not retry');
    await h.advance(50);
    assert.deepEqual(h.take(), ['applyFailed'], 'retried after 50 ms; status unchanged');
    await h.advance(99);
    assert.deepEqual(h.take(), []);
    h.table.rejects.delete(B);
    await h.advance(1);
    assert.deepEqual(h.take(), ['applied:retry', 'statusWritten'], 'retried after 100 ms more');
    assert.deepEqual(h.table.loads, [A, B, B, B]);
    assert.equal(h.condition('Applied'), 'True/Applied');
    assert.equal(await counterValue(h.metrics, 'nftpol_executor_apply_failures_total'), 2);
  });

  it('repairs a drifted table and reports Drifted, then Repaired', async () => {
    const h = await applied(A);
    h.table.deleteLastRule();
    await h.r.requestPass();
    assert.deepEqual(h.take(), ['drifted', 'statusWritten', 'applied:repair', 'statusWritten']);
    assert.deepEqual(h.table.loads, [A, A]);
    const [drifted, repaired] = h.patches.slice(-2);
    assert.equal(drifted?.conditions?.find((c) => c.type === 'InSync')?.reason, 'Drifted');
    assert.equal(repaired?.conditions?.find((c) => c.type === 'InSync')?.reason, 'Repaired');
    assert.equal(h.condition('Ready'), 'True/Ready');
    assert.equal(await counterValue(h.metrics, 'nftpol_executor_drift_repairs_total'), 1);
  });

  it('restores the last good script when a new one is rejected on a drifted table', async () => {
    const h = await applied(A);
    h.table.rejects.set(B, 'Error: syntax error');
    h.table.deleteLastRule();
    h.r.observe(nfw(B, { generation: 2 }));
    await h.r.idle();
    assert.deepEqual(h.take(), [
      'drifted',
      'statusWritten',
      'applyFailed',
      'applied:repair',
      'statusWritten',
    ]);
    assert.deepEqual(h.table.loads, [A, B, A]);
    assert.deepEqual(h.table.rules, A.split('\n'), 'the table is A again');
    assert.equal(h.condition('InSync'), 'True/Repaired');
    assert.equal(h.condition('Applied'), 'False/ApplyFailed', 'B is still rejected');
    await h.r.requestPass();
    assert.deepEqual(h.take(), [], 'B waits for its back-off after the restore');
    await h.advance(50);
    assert.deepEqual(h.take(), ['applyFailed'], 'B retried at 50 ms');
    await h.advance(99);
    assert.deepEqual(h.take(), [], 'the back-off doubled: the restore did not reset it');
    await h.advance(1);
    assert.deepEqual(h.take(), ['applyFailed']);
    assert.deepEqual(h.table.loads, [A, B, A, B, B]);
  });

  it('restores the last good script when the spec is refused on a drifted table, and reports the refusal', async () => {
    const h = await applied(A);
    h.table.deleteLastRule();
    h.r.observe(nfw(B, { hash: hashScript(C), generation: 2 }));
    await h.r.idle();
    assert.deepEqual(h.take(), [
      'drifted',
      'statusWritten',
      'refused',
      'applied:repair',
      'statusWritten',
    ]);
    assert.deepEqual(h.table.loads, [A, A]);
    assert.equal(h.condition('Applied'), 'False/HashMismatch');
    assert.equal(h.condition('InSync'), 'True/Repaired');
  });

  it('refuses a script whose hash does not match and loads nothing', async () => {
    const h = harness();
    await h.r.probeHost();
    h.r.observe(nfw(B, { hash: hashScript(C) }));
    await h.r.idle();
    assert.deepEqual(h.take(), ['probed', 'refused', 'statusWritten']);
    assert.deepEqual(h.table.loads, []);
    assert.equal(h.condition('Applied'), 'False/HashMismatch');
    assert.equal(h.condition('Ready'), 'False/NotApplied');
  });

  it('restores the last good script on a drifted table after its NodeFirewall is deleted', async () => {
    const h = await applied(A);
    h.r.observe(null);
    await h.r.idle();
    assert.deepEqual(h.take(), [], 'deleted: fail-static, nothing loaded or written');
    h.table.deleteLastRule();
    await h.r.requestPass();
    assert.deepEqual(h.take(), ['drifted', 'applied:repair']);
    assert.deepEqual(h.table.loads, [A, A]);
  });

  it('restores the last good script on a drifted table while a rejected one waits for its retry', async () => {
    const h = await applied(A);
    h.table.rejects.set(B, 'Error: syntax error');
    h.r.observe(nfw(B, { generation: 2 }));
    await h.r.idle();
    assert.deepEqual(h.take(), ['applyFailed', 'statusWritten']);
    h.table.deleteLastRule();
    await h.r.requestPass();
    assert.deepEqual(h.take(), ['drifted', 'statusWritten', 'applied:repair', 'statusWritten']);
    assert.deepEqual(h.table.loads, [A, B, A]);
  });

  it('retries a failed status write on a back-off and leaves a 404 to the watch', async () => {
    const h = harness();
    await h.r.probeHost();
    h.patchErrors.push(Object.assign(new Error('HTTP-Code: 500'), { code: 500 }));
    h.r.observe(nfw(A));
    await h.r.idle();
    assert.deepEqual(h.take(), ['probed', 'applied:changed', 'statusFailed']);
    assert.deepEqual(h.patches, []);
    await h.advance(50);
    assert.deepEqual(h.take(), ['statusWritten'], 'rewritten 50 ms later, nothing reloaded');
    assert.deepEqual(h.table.loads, [A]);

    h.patchErrors.push(Object.assign(new Error('HTTP-Code: 404'), { code: 404 }));
    h.r.observe(nfw(A, { generation: 2 }));
    await h.r.idle();
    assert.deepEqual(h.take(), [], 'a 404 is neither reported nor retried');
    assert.equal(h.clock.pending, 0);
  });

  it('writes changed counters at most every countersIntervalMs, and not for unchanged ones', async () => {
    const h = await applied(A);
    assert.equal(h.patches.at(-1)?.counters, undefined, 'read before the first load: no table');
    await h.r.requestPass();
    assert.deepEqual(h.take(), ['statusWritten'], 'the first counters read');
    assert.deepEqual(h.patches.at(-1)?.counters, {
      'shop/web': { ingressAllowed: 0, ingressDenied: 0, egressAllowed: 0, egressDenied: 0 },
    });
    h.table.packets.set('shop/web ingress denied', 7);
    await h.r.requestPass();
    assert.deepEqual(h.take(), [], 'changed, but reported 0 ms ago');
    assert.equal(
      (await h.metrics.registry.getSingleMetric('nftpol_executor_deny_packets_total')?.get())
        ?.values[0]?.value,
      7,
      'the metric is live',
    );
    await h.advance(1000);
    await h.r.requestPass();
    assert.deepEqual(h.take(), ['statusWritten']);
    assert.equal(h.patches.at(-1)?.counters?.['shop/web']?.ingressDenied, 7);
    await h.advance(1000);
    await h.r.requestPass();
    assert.deepEqual(h.take(), [], 'unchanged counters are not rewritten');
  });

  it('starts from the conditions of a new object (another uid) rather than the last written', async () => {
    const h = await applied(A);
    const first = h.patches.at(-1)?.conditions?.find((c) => c.type === 'Ready');
    await h.clock.advance(5000);
    h.r.observe(nfw(A, { uid: 'uid-2', status: {} }));
    await h.r.idle();
    assert.deepEqual(h.take(), ['statusWritten']);
    const again = h.patches.at(-1)?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(first?.lastTransitionTime, '2030-01-01T00:00:00Z');
    assert.equal(again?.lastTransitionTime, '2030-01-01T00:00:05Z', 'a new transition');
  });

  it('stops: cancels its timers and runs no further pass', async () => {
    const h = await applied(A);
    h.table.rejects.set(B, 'Error: syntax error');
    h.r.observe(nfw(B, { generation: 2 }));
    await h.r.idle();
    assert.equal(h.clock.pending, 1, 'the retry timer');
    await h.r.stop();
    assert.equal(h.clock.pending, 0);
    h.take();
    await h.r.requestPass();
    assert.deepEqual(h.take(), []);
    assert.deepEqual(h.table.loads, [A, B]);
  });
});
