/**
 * nftpol-executor v2 against the real kube-apiserver (the AddressSet CRD
 * installed by startTestApi) and real nft in a network namespace: the test
 * writes a NodeFirewall whose script declares shared sets, and AddressSet
 * slices, straight through the API, then checks with `nft -j list set` in
 * the node's namespace that
 *
 *  - the members arrive with the rules;
 *  - a slice change is applied as a delta, and the NodeFirewall is not
 *    written for it (resourceVersion and audited writes unchanged);
 *  - members deleted by hand with nft are drift, and repaired;
 *  - a referenced set with no slice is loaded empty after --set-wait-ms
 *    with SetsReady=False naming it, and SetsReady=True once it arrives;
 *  - a changed spec.addressSets re-targets the watch, and every AddressSet
 *    list the executor made carried its label selector (never all sets).
 *
 * Synchronisation is by the executor's events and the API watch — never by
 * sleeping.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { SET_LABEL, WRITTEN_AT_ANNOTATION } from '../../src/k8s/addressset.js';
import { memberOfElement } from '../../src/nft/live-members.js';
import { runNft, type NftOptions } from '../../src/nft/nft.js';
import { sortMembers } from '../../src/nft/compose.js';
import {
  executorOptions,
  hasCondition,
  conditionOf,
  NFW,
  nodeFirewall,
  startRecordedExecutor,
  statusOf,
  waitForView,
} from '../support/executor-fixture.js';
import { NFT_SKIP_REASON, withNetns } from '../support/nft-check.js';
import {
  realServerSkip,
  startWatchedApi,
  type ApiView,
  type TestApi,
} from '../support/test-api.js';

const run = promisify(execFile);
const AS = 'addresssets';
const X = 'pods-00000000000000a1';
const Y = 'pods-00000000000000b2';
const Z = 'pods-00000000000000c3';

/** nft's name of set `id`'s IPv4 (4) or IPv6 (6) half. */
const nftName = (id: string, family: 4 | 6): string => `${id.replace('-', '_')}_${family}`;

/** A rules script declaring both halves of each of `ids`, each used by a rule, as render writes it. */
function rulesScript(...ids: string[]): string {
  const sets = ids.flatMap((id) => [
    `\tset ${nftName(id, 4)} {\n\t\ttype ipv4_addr\n\t}\n`,
    `\tset ${nftName(id, 6)} {\n\t\ttype ipv6_addr\n\t}\n`,
  ]);
  const rules = ids.flatMap((id) => [
    `\t\tip saddr @${nftName(id, 4)} accept`,
    `\t\tip6 saddr @${nftName(id, 6)} accept`,
  ]);
  return [
    'add table inet nftpol',
    'delete table inet nftpol',
    'table inet nftpol {',
    sets.join('\n'),
    '\tchain in_shop_web {',
    ...rules,
    '\t\tcounter drop comment "shop/web ingress denied"',
    '\t}',
    '}',
    '',
  ].join('\n');
}

/** NodeFirewall `name` whose script declares the sets `ids` and lists them. */
function firewall(name: string, ids: readonly string[]) {
  const base = nodeFirewall(name, rulesScript(...ids));
  return { ...base, spec: { ...base.spec, addressSets: [...ids] } };
}

/** Slice `index` of set `id` holding `members`, written now. */
function slice(id: string, index: number, members: readonly string[]) {
  return {
    apiVersion: 'nftpol.io/v1alpha1',
    kind: 'AddressSet',
    metadata: {
      name: `${id}-${index}`,
      labels: { [SET_LABEL]: id },
      annotations: { [WRITTEN_AT_ANNOTATION]: new Date().toISOString() },
    },
    spec: {
      setId: id,
      kind: 'addr',
      peer: `test peer ${id}`,
      members: sortMembers(members),
      memberCount: members.length,
    },
  };
}

/** Sets slice `index` of `id` to `members` with a merge patch. */
async function patchSlice(api: TestApi, id: string, index: number, members: readonly string[]) {
  const { metadata, spec } = slice(id, index, members);
  await api.mergePatch(AS, `${id}-${index}`, {
    metadata: { annotations: metadata.annotations },
    spec: { members: spec.members, memberCount: spec.memberCount },
  });
}

/** The members of nft set `name` in the namespace, sorted. */
async function listed(nft: NftOptions, name: string): Promise<string[]> {
  const out = await runNft(['-j', 'list', 'set', 'inet', 'nftpol', name], undefined, nft);
  const doc = JSON.parse(out) as { nftables: { set?: { elem?: unknown[] } }[] };
  const elem = doc.nftables.find((o) => o.set !== undefined)?.set?.elem ?? [];
  return sortMembers(elem.map((e) => memberOfElement(JSON.stringify(e))));
}

/** The members of set `id`, both halves, sorted as composed. */
async function membersOf(nft: NftOptions, id: string): Promise<string[]> {
  return [...(await listed(nft, nftName(id, 4))), ...(await listed(nft, nftName(id, 6)))];
}

/** Writes to NodeFirewall `name` (its spec or status) the API server audited. */
const writesTo = (api: TestApi, name: string) =>
  api.writes().filter((w) => w.resource === NFW && w.name === name);

describe(
  'nftpol-executor with AddressSets, on the real kube-apiserver and nft in a network namespace',
  { skip: NFT_SKIP_REASON || realServerSkip() || false },
  () => {
    let api: TestApi;
    let view: ApiView;

    before(async () => {
      ({ api, view } = await startWatchedApi('executor-sets', [NFW]));
    });
    after(async () => {
      view?.stop();
      await api?.stop();
    });

    it('loads the members with the rules, applies a slice change as a delta without a status write, and repairs members deleted by hand', async () => {
      await withNetns(async (nft, ns) => {
        await api.create([slice(X, 0, ['10.0.0.1', 'fd00::1']), slice(X, 1, ['10.0.0.9'])]);
        await api.create([firewall('members', [X])]);
        const { executor, events, waitForEvent } = await startRecordedExecutor(
          api,
          executorOptions('members', ns, { driftIntervalMs: 60_000 }),
        );
        try {
          await waitForView(
            view,
            hasCondition(view, 'members', 'Ready', 'True', 'Ready'),
            'members Ready',
          );
          assert.equal(conditionOf(view, 'members', 'SetsReady')?.status, 'True');
          assert.deepEqual(await membersOf(nft, X), ['10.0.0.1', '10.0.0.9', 'fd00::1']);

          // The first read of the table reports its counters; after it, the status is settled.
          await executor.checkNow();
          const written = events.filter((e) => e.kind === 'statusWritten').length;
          const version = (await api.get(NFW, 'members'))?.metadata.resourceVersion;
          const audited = writesTo(api, 'members').length;
          const applies = executor.applies();

          const seen = events.length;
          await patchSlice(api, X, 0, ['10.0.0.1', '10.0.0.2', 'fd00::1', 'fd00::2']);
          await waitForEvent((e) => e.kind === 'membersApplied', 'the delta', seen);
          assert.deepEqual(await membersOf(nft, X), [
            '10.0.0.1',
            '10.0.0.2',
            '10.0.0.9',
            'fd00::1',
            'fd00::2',
          ]);
          await api.remove(AS, `${X}-1`);
          await waitForEvent((e) => e.kind === 'membersApplied', 'the second delta', seen + 1);
          assert.deepEqual(await membersOf(nft, X), ['10.0.0.1', '10.0.0.2', 'fd00::1', 'fd00::2']);
          assert.equal(executor.applies(), applies + 2, 'two deltas, no full load');
          await executor.checkNow(); // a full pass: no drift, nothing to write

          assert.equal(
            events.filter((e) => e.kind === 'statusWritten').length,
            written,
            'no status write for membership',
          );
          assert.equal((await api.get(NFW, 'members'))?.metadata.resourceVersion, version);
          assert.equal(writesTo(api, 'members').length, audited, 'the API server saw no write');
          const metrics = await executor.metrics.registry.metrics();
          assert.match(metrics, /nftpol_executor_member_updates_total\{result="ok"\} 2/);
          // One lag observation: the patched slice (a deleted one has no write time).
          assert.match(metrics, /nftpol_executor_member_lag_seconds_count 1\n/);
          assert.match(metrics, /nftpol_executor_loads_total\{kind="delta"\} 2/);

          const before = events.length;
          await run('ip', [
            'netns',
            'exec',
            ns,
            'nft',
            'delete element inet nftpol pods_00000000000000a1_4 { 10.0.0.2 }',
          ]);
          await executor.checkNow();
          await waitForEvent(
            (e) => e.kind === 'applied' && e.cause === 'repair',
            'the repair',
            before,
          );
          assert.ok(events.slice(before).some((e) => e.kind === 'drifted'));
          assert.deepEqual(await membersOf(nft, X), ['10.0.0.1', '10.0.0.2', 'fd00::1', 'fd00::2']);
          await waitForView(
            view,
            hasCondition(view, 'members', 'InSync', 'True', 'Repaired'),
            'InSync Repaired',
          );
          assert.match(
            conditionOf(view, 'members', 'InSync')?.message ?? '',
            /pods_00000000000000a1_4/,
          );
        } finally {
          await executor.stop();
        }
      });
    });

    it('loads a referenced set with no slice empty after --set-wait-ms and says so; SetsReady once it arrives', async () => {
      await withNetns(async (nft, ns) => {
        await api.create([slice(Y, 0, ['10.1.0.1'])]);
        await api.create([firewall('waits', [Y, Z])]);
        const { executor, waitForEvent } = await startRecordedExecutor(
          api,
          executorOptions('waits', ns, { setWaitMs: 1500 }),
        );
        try {
          await waitForEvent((e) => e.kind === 'waitingForSets', 'the wait for Z');
          await waitForView(
            view,
            hasCondition(view, 'waits', 'SetsReady', 'False', 'SetsMissing'),
            'SetsReady=False/SetsMissing',
          );
          const c = conditionOf(view, 'waits', 'SetsReady')!;
          assert.match(c.message, new RegExp(`: ${Z}$`));
          assert.equal(conditionOf(view, 'waits', 'Ready')?.reason, 'SetsMissing');
          assert.equal(conditionOf(view, 'waits', 'Applied')?.status, 'True');
          assert.deepEqual(await membersOf(nft, Y), ['10.1.0.1']);
          assert.deepEqual(await membersOf(nft, Z), [], 'loaded empty: fail closed');

          await api.create([slice(Z, 0, ['10.2.0.1', 'fd00:2::1'])]);
          await waitForView(
            view,
            hasCondition(view, 'waits', 'SetsReady', 'True', 'SetsReady'),
            'SetsReady=True',
          );
          assert.equal(conditionOf(view, 'waits', 'Ready')?.status, 'True');
          assert.deepEqual(await membersOf(nft, Z), ['10.2.0.1', 'fd00:2::1']);
          assert.equal(statusOf(view, 'waits')?.observedGeneration, 1);
        } finally {
          await executor.stop();
        }
      });
    });

    it('re-targets its AddressSet watch when spec.addressSets changes, and never lists every set', async () => {
      await withNetns(async (nft, ns) => {
        const A = 'pods-00000000000000d4';
        const B = 'pods-00000000000000e5';
        await api.create([slice(A, 0, ['10.4.0.1']), slice(B, 0, ['10.5.0.1'])]);
        await api.create([firewall('retarget', [A])]);
        const { executor, waitForEvent } = await startRecordedExecutor(
          api,
          executorOptions('retarget', ns),
        );
        try {
          await waitForView(
            view,
            hasCondition(view, 'retarget', 'Ready', 'True', 'Ready'),
            'retarget Ready',
          );
          assert.deepEqual(await membersOf(nft, A), ['10.4.0.1']);
          const next = firewall('retarget', [B]);
          await api.mergePatch(NFW, 'retarget', { spec: next.spec });
          await waitForEvent(
            (e) => e.kind === 'applied' && e.cause === 'changed' && e.hash === next.spec.scriptHash,
            'the new script',
          );
          assert.deepEqual(await membersOf(nft, B), ['10.5.0.1']);
          await patchSlice(api, A, 0, ['10.4.0.2']);
          await patchSlice(api, B, 0, ['10.5.0.2']);
          await waitForEvent((e) => e.kind === 'membersApplied', 'B changed');
          assert.deepEqual(await membersOf(nft, B), ['10.5.0.2']);

          const lists = (api.real?.auditEvents() ?? []).filter(
            (e) => e.objectRef?.resource === AS && (e.verb === 'list' || e.verb === 'watch'),
          );
          const selectors = lists.map((e) =>
            new URL(e.requestURI, 'http://x').searchParams.get('labelSelector'),
          );
          assert.ok(selectors.includes(`${SET_LABEL} in (${A})`), selectors.join(' | '));
          assert.ok(selectors.includes(`${SET_LABEL} in (${B})`), selectors.join(' | '));
          assert.ok(
            selectors.every((s) => s !== null && s.startsWith(`${SET_LABEL} in (`)),
            `every AddressSet list and watch is selected: ${selectors.join(' | ')}`,
          );
        } finally {
          await executor.stop();
        }
      });
    });
  },
);
