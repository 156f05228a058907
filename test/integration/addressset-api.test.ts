/**
 * AddressSet slices on the real kube-apiserver, written the way the
 * controller writes them (SliceBook → addressSetBody → apiAddressSetWriter,
 * server-side apply through client-node) and read the way an executor reads
 * them (list and watch with `nftpol.io/set in (…)`):
 *
 *  - a label selector on set ids lists exactly the slices of those sets, and
 *    a watch with it sees their changes and nothing of other sets;
 *  - the CRD refuses a malformed set id and a wrong memberCount, and takes
 *    an empty slice;
 *  - a forced apply replaces a slice's member list (no member lingers);
 *  - a SliceBook that adopts the listed slices and is given the same members
 *    writes nothing (a controller restart);
 *  - remove deletes, and a second remove of the same slice is no error.
 *
 * Synchronisation is by watch events, never by sleeping.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Watch } from '@kubernetes/client-node';
import { observedSlice, SliceBook, type SliceChanges } from '../../src/controller/slices.js';
import type { AddressSet } from '../../src/k8s/addressset.js';
import {
  addressSetBody,
  apiAddressSetWriter,
  type AddressSetWriter,
} from '../../src/k8s/addressset-api.js';
import { makeApiClients } from '../../src/k8s/client.js';
import { statusCode } from '../../src/k8s/errors.js';
import { collectionPath, realServerSkip, startTestApi, type TestApi } from '../support/test-api.js';

const NAS = 'addresssets';
const AT = '2025-01-01T00:00:00.000Z';
const PODS = 'pods-00000000000000a1';
const PORTS = 'port-00000000000000b2';
const OTHER = 'pods-00000000000000c3';
const SLICE_SIZE = 2;

/** Slice names, sorted, of a list answer. */
function namesOf(list: { items: { metadata: { name: string } }[] }): string[] {
  return list.items.map((i) => i.metadata.name).sort();
}

describe('AddressSet slices on the real kube-apiserver', { skip: realServerSkip() }, () => {
  let api: TestApi;
  let writer: AddressSetWriter;
  const book = new SliceBook(SLICE_SIZE);
  const peers: Record<string, string> = {
    [PODS]: 'shop: pods app=web',
    [PORTS]: 'shop: pods app=db, port postgres',
    [OTHER]: 'other: pods app=x',
  };
  const desired: Record<string, string[]> = {
    [PODS]: ['10.0.0.1', '10.0.0.2', '10.0.0.3', 'fd00::1'],
    [PORTS]: ['10.0.0.9 . tcp . 5432'],
    [OTHER]: ['10.9.9.9'],
  };

  /** Applies what the book says, as the controller would. */
  async function write(changes: SliceChanges): Promise<void> {
    for (const w of changes.write) {
      const kind = w.setId.startsWith('pods-') ? 'addr' : 'addrPort';
      await writer.apply(
        addressSetBody(w.setId, kind, peers[w.setId] ?? '', w.index, w.members, AT),
      );
    }
    for (const name of changes.remove) await writer.remove(name);
  }

  async function listSelected(selector: string): Promise<{ items: AddressSet[] }> {
    return api.request(
      'GET',
      `${collectionPath(NAS)}?labelSelector=${encodeURIComponent(selector)}`,
    );
  }

  before(async () => {
    api = await startTestApi('addressset-api');
    writer = apiAddressSetWriter(makeApiClients(api.kubeConfig));
    for (const [setId, members] of Object.entries(desired)) await write(book.sync(setId, members));
  });
  after(async () => {
    await api?.stop();
  });

  it('lists exactly the slices of the selected sets, labelled, annotated and counted', async () => {
    const list = await listSelected(`nftpol.io/set in (${PODS},${PORTS})`);
    assert.deepEqual(namesOf(list), [`${PODS}-0`, `${PODS}-1`, `${PORTS}-0`]);
    const first = list.items.find((i) => i.metadata.name === `${PODS}-0`);
    assert.deepEqual(first?.metadata.labels, { 'nftpol.io/set': PODS });
    assert.equal(first?.metadata.annotations?.['nftpol.io/written-at'], AT);
    assert.deepEqual(first?.spec, {
      setId: PODS,
      kind: 'addr',
      peer: peers[PODS],
      members: ['10.0.0.1', '10.0.0.2'],
      memberCount: 2,
    });
    assert.deepEqual(namesOf(await listSelected(`nftpol.io/set in (${OTHER})`)), [`${OTHER}-0`]);
  });

  it('a watch with the selector sees changes of the selected sets and nothing of others', async () => {
    const list = await listSelected(`nftpol.io/set in (${PODS})`);
    const rv = (list as unknown as { metadata: { resourceVersion: string } }).metadata
      .resourceVersion;
    const seen: string[] = [];
    let abort: AbortController | undefined;
    const arrived = new Promise<void>((resolve, reject) => {
      new Watch(api.kubeConfig)
        .watch(
          collectionPath(NAS),
          { labelSelector: `nftpol.io/set in (${PODS})`, resourceVersion: rv },
          (phase, obj: AddressSet) => {
            seen.push(`${phase} ${obj.metadata.name}`);
            if (obj.metadata.name === `${PODS}-1`) resolve();
          },
          (err: unknown) => {
            if (err !== null && err !== undefined)
              reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
          },
        )
        .then((a) => (abort = a), reject);
    });
    // The other set first: had it been sent, it would arrive before the selected one.
    await write(book.sync(OTHER, ['10.9.9.9', '10.9.9.10']));
    // 10.0.0.3 leaves slice 1 and fd00::2 takes its place: one write.
    await write(book.sync(PODS, ['10.0.0.1', '10.0.0.2', 'fd00::1', 'fd00::2']));
    await arrived;
    abort?.abort();
    assert.deepEqual(seen, [`MODIFIED ${PODS}-1`]);
  });

  it('refuses a malformed set id and a wrong count, and takes an empty slice', async () => {
    const good = addressSetBody(OTHER, 'addr', 'p', 7, ['10.1.1.1'], AT);
    const refused = async (body: unknown): Promise<number | undefined> => {
      try {
        await writer.apply(body as typeof good);
        return 200;
      } catch (err) {
        return statusCode(err);
      }
    };
    assert.equal(await refused({ ...good, spec: { ...good.spec, setId: 'pods-NOT-HEX' } }), 422);
    assert.equal(await refused({ ...good, spec: { ...good.spec, memberCount: 5 } }), 422);
    assert.equal(await api.get(NAS, `${OTHER}-7`), undefined);

    await writer.apply(addressSetBody(OTHER, 'addr', 'p', 7, [], AT));
    const stored = (await api.get(NAS, `${OTHER}-7`))?.['spec'] as Record<string, unknown>;
    assert.equal(stored['memberCount'], 0);
    assert.deepEqual(stored['members'] ?? [], [], 'absent or empty');
    const object = (await api.get(NAS, `${OTHER}-7`)) as unknown as AddressSet;
    assert.deepEqual(observedSlice(object), { setId: OTHER, index: 7, members: [] });
    await writer.remove(`${OTHER}-7`);
  });

  it('a forced apply replaces the member list: no member lingers', async () => {
    await writer.apply(addressSetBody(OTHER, 'addr', 'p', 8, ['10.1.1.1', '10.1.1.2'], AT));
    await writer.apply(addressSetBody(OTHER, 'addr', 'p', 8, ['10.1.1.3'], AT));
    const spec = (await api.get(NAS, `${OTHER}-8`))?.['spec'] as { members?: string[] };
    assert.deepEqual(spec.members, ['10.1.1.3']);
    await writer.remove(`${OTHER}-8`);
  });

  it('a book that adopts the listed slices writes nothing for the same members', async () => {
    const list = await listSelected(`nftpol.io/set in (${PODS},${PORTS},${OTHER})`);
    const restarted = new SliceBook(SLICE_SIZE);
    restarted.adopt(list.items.map(observedSlice).filter((s) => s !== null));
    for (const setId of book.ids()) {
      assert.deepEqual(restarted.sync(setId, book.membersOf(setId)), { write: [], remove: [] });
    }
    assert.deepEqual(restarted.ids(), book.ids());
  });

  it('removes every slice of a set; a second remove is no error', async () => {
    const names = book.drop(PODS);
    assert.deepEqual(names, [`${PODS}-0`, `${PODS}-1`]);
    for (const name of names) await writer.remove(name);
    assert.deepEqual(namesOf(await listSelected(`nftpol.io/set in (${PODS})`)), []);
    await writer.remove(`${PODS}-0`);
    assert.deepEqual(namesOf(await listSelected(`nftpol.io/set in (${PODS},${PORTS})`)), [
      `${PORTS}-0`,
    ]);
  });
});
