/**
 * The watch protocol, driven by the real @kubernetes/client-node (Watch,
 * makeInformer, ListWatch) against the embedded API server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CoreV1Api,
  CustomObjectsApi,
  ListWatch,
  Watch,
  makeInformer,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Pod,
} from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../support/apiserver/server.js';
import { kubeConfigForServer } from '../../../src/k8s/client.js';
import type { NodeFirewall } from '../../../src/k8s/nodefirewall.js';

type Verb = 'add' | 'update' | 'delete';

interface Observable<T> {
  on(verb: Verb, cb: (obj: T) => void): void;
  off(verb: Verb, cb: (obj: T) => void): void;
}

/** Resolves with the first `verb` event whose object satisfies `match`. */
function nextEvent<T extends KubernetesObject>(
  source: Observable<T>,
  verb: Verb,
  match: (obj: T) => boolean,
  timeoutMs = 4000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      source.off(verb, cb);
      reject(new Error(`no ${verb} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const cb = (obj: T): void => {
      if (!match(obj)) return;
      clearTimeout(timer);
      source.off(verb, cb);
      resolve(obj);
    };
    source.on(verb, cb);
  });
}

interface RawEvent {
  readonly type: string;
  readonly object: {
    metadata?: { name?: string; resourceVersion?: string };
    code?: number;
    reason?: string;
  };
}

/** Runs a raw Watch until `stop(events)` is true or the server ends it. */
async function collectWatch(
  server: ApiServer,
  path: string,
  query: Record<string, string | boolean | number>,
  stop: (events: readonly RawEvent[]) => boolean,
): Promise<{ events: RawEvent[]; endedByServer: boolean }> {
  const events: RawEvent[] = [];
  const watch = new Watch(kubeConfigForServer(server.url));
  let controller: AbortController | undefined;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      controller?.abort();
      reject(new Error(`watch did not finish: ${JSON.stringify(events)}`));
    }, 4000);
    watch
      .watch(
        path,
        query,
        (type: string, object: RawEvent['object']) => {
          events.push({ type, object });
          if (stop(events)) {
            clearTimeout(timer);
            controller?.abort();
            resolve({ events, endedByServer: false });
          }
        },
        (err: unknown) => {
          clearTimeout(timer);
          if (err === null || err === undefined) resolve({ events, endedByServer: true });
        },
      )
      .then((c) => {
        controller = c;
      })
      .catch(reject);
  });
}

function pod(name: string, labels: Record<string, string> = {}): V1Pod {
  return {
    metadata: { name, labels },
    spec: { containers: [{ name: 'c', image: 'i' }], nodeName: 'n1' },
  };
}

const countRequests = (server: ApiServer, path: string, watch: boolean): number =>
  server.requests.filter(
    (r) => r.method === 'GET' && r.path === path && (r.query['watch'] === 'true') === watch,
  ).length;

describe('watch protocol with the real client-node', () => {
  let server: ApiServer;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;

  before(async () => {
    server = await startApiServer({ bookmarkIntervalMs: 50 });
    const kc = kubeConfigForServer(server.url);
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
  });
  after(async () => server.close());

  it('an informer lists, then sees ADDED, MODIFIED and DELETED', async () => {
    await core.createNamespacedPod({ namespace: 'inf', body: pod('existing') });
    const kc = kubeConfigForServer(server.url);
    const informer = makeInformer(kc, '/api/v1/namespaces/inf/pods', () =>
      core.listNamespacedPod({ namespace: 'inf' }),
    );
    const listed = nextEvent<V1Pod>(informer, 'add', (p) => p.metadata?.name === 'existing');
    await informer.start();
    await listed;
    try {
      const added = nextEvent<V1Pod>(informer, 'add', (p) => p.metadata?.name === 'web');
      await core.createNamespacedPod({ namespace: 'inf', body: pod('web') });
      await added;
      const updated = nextEvent<V1Pod>(
        informer,
        'update',
        (p) => p.metadata?.labels?.['v'] === '2',
      );
      await core.replaceNamespacedPod({
        namespace: 'inf',
        name: 'web',
        body: pod('web', { v: '2' }),
      });
      await updated;
      const deleted = nextEvent<V1Pod>(informer, 'delete', (p) => p.metadata?.name === 'web');
      await core.deleteNamespacedPod({ namespace: 'inf', name: 'web' });
      await deleted;
      assert.deepEqual(
        informer.list('inf').map((p) => p.metadata?.name),
        ['existing'],
      );
    } finally {
      await informer.stop();
    }
  });

  it('a cut watch resumes from its resourceVersion without relisting', async () => {
    const kc = kubeConfigForServer(server.url);
    const path = '/api/v1/namespaces/resume/pods';
    const informer = makeInformer(kc, path, () => core.listNamespacedPod({ namespace: 'resume' }));
    await informer.start();
    try {
      const first = nextEvent<V1Pod>(informer, 'add', (p) => p.metadata?.name === 'a');
      await core.createNamespacedPod({ namespace: 'resume', body: pod('a') });
      await first;
      assert.equal(server.cutWatches() >= 1, true);
      const second = nextEvent<V1Pod>(informer, 'add', (p) => p.metadata?.name === 'b');
      await core.createNamespacedPod({ namespace: 'resume', body: pod('b') });
      await second;
      assert.equal(countRequests(server, path, false), 1, 'listed once');
      assert.equal(countRequests(server, path, true) >= 2, true, 'watched again');
    } finally {
      await informer.stop();
    }
  });

  it('after compaction a resume gets 410 and the informer relists, then converges', async () => {
    const kc = kubeConfigForServer(server.url);
    const path = '/api/v1/namespaces/gone/pods';
    const informer = makeInformer(
      kc,
      path,
      () => core.listNamespacedPod({ namespace: 'gone', labelSelector: 'app=web' }),
      'app=web',
    );
    await informer.start();
    try {
      const seen = nextEvent<V1Pod>(informer, 'add', (p) => p.metadata?.name === 'w1');
      await core.createNamespacedPod({ namespace: 'gone', body: pod('w1', { app: 'web' }) });
      await seen;
      // Changes the informer's selector hides: its resourceVersion falls behind.
      await core.createNamespacedPod({ namespace: 'gone', body: pod('other', { app: 'db' }) });
      server.compact();
      server.cutWatches();
      const converged = nextEvent<V1Pod>(informer, 'add', (p) => p.metadata?.name === 'w2', 5000);
      await core.createNamespacedPod({ namespace: 'gone', body: pod('w2', { app: 'web' }) });
      await converged;
      assert.equal(countRequests(server, path, false), 2, 'relisted once after 410');
      assert.deepEqual(
        informer
          .list('gone')
          .map((p) => p.metadata?.name)
          .sort(),
        ['w1', 'w2'],
      );
    } finally {
      await informer.stop();
    }
  });

  it('a watch from a compacted resourceVersion gets one ERROR event with a 410 Expired Status', async () => {
    await core.createNamespacedPod({ namespace: 'expired', body: pod('a') });
    server.compact();
    const { events, endedByServer } = await collectWatch(
      server,
      '/api/v1/namespaces/expired/pods',
      { resourceVersion: '1' },
      () => false,
    );
    assert.equal(endedByServer, true);
    assert.deepEqual(
      events.map((e) => [e.type, e.object.code, e.object.reason]),
      [['ERROR', 410, 'Expired']],
    );
  });

  it('a watch from resourceVersion N replays every change after N', async () => {
    const a = await core.createNamespacedPod({ namespace: 'replay', body: pod('a') });
    await core.createNamespacedPod({ namespace: 'replay', body: pod('b') });
    await core.deleteNamespacedPod({ namespace: 'replay', name: 'a' });
    const { events } = await collectWatch(
      server,
      '/api/v1/namespaces/replay/pods',
      { resourceVersion: a.metadata?.resourceVersion ?? '' },
      (evs) => evs.length === 2,
    );
    assert.deepEqual(
      events.map((e) => [e.type, e.object.metadata?.name]),
      [
        ['ADDED', 'b'],
        ['DELETED', 'a'],
      ],
    );
  });

  it('allowWatchBookmarks brings BOOKMARK events carrying only the resourceVersion', async () => {
    const { events } = await collectWatch(
      server,
      '/api/v1/namespaces/bookmarks/pods',
      { allowWatchBookmarks: true, resourceVersion: String(server.store.resourceVersion) },
      (evs) => evs.some((e) => e.type === 'BOOKMARK'),
    );
    const bookmark = events.find((e) => e.type === 'BOOKMARK');
    assert.deepEqual(bookmark?.object, {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { resourceVersion: String(server.store.resourceVersion) },
    });
  });

  it('timeoutSeconds ends the watch cleanly', async () => {
    const { endedByServer } = await collectWatch(
      server,
      '/api/v1/namespaces/timeout/pods',
      { timeoutSeconds: 1 },
      () => false,
    );
    assert.equal(endedByServer, true);
  });

  it('a label change moves an object out of and back into a label-selected watch', async () => {
    const created = await core.createNamespacedPod({
      namespace: 'move',
      body: pod('p', { app: 'web' }),
    });
    const patch = (labels: Record<string, string>): Promise<V1Pod> =>
      core.replaceNamespacedPod({ namespace: 'move', name: 'p', body: pod('p', labels) });
    await patch({ app: 'db' });
    await patch({ app: 'web' });
    const { events } = await collectWatch(
      server,
      '/api/v1/namespaces/move/pods',
      { resourceVersion: created.metadata?.resourceVersion ?? '', labelSelector: 'app=web' },
      (evs) => evs.length === 2,
    );
    assert.deepEqual(
      events.map((e) => e.type),
      ['DELETED', 'ADDED'],
    );
  });

  it('a fieldSelector on metadata.name watches one NodeFirewall (the executor pattern)', async () => {
    const kc = kubeConfigForServer(server.url);
    const group = 'nftpol.io';
    const version = 'v1alpha1';
    const plural = 'nodefirewalls';
    const fieldSelector = 'metadata.name=node-a';
    const list = async (): Promise<KubernetesListObject<NodeFirewall>> =>
      (await custom.listClusterCustomObject({
        group,
        version,
        plural,
        fieldSelector,
      })) as KubernetesListObject<NodeFirewall>;
    // makeInformer in client-node 2.0.1 takes no field selector: use ListWatch directly.
    const informer = new ListWatch<NodeFirewall>(
      `/apis/${group}/${version}/${plural}`,
      new Watch(kc),
      list,
      false,
      undefined,
      fieldSelector,
    );
    const names: string[] = [];
    informer.on('add', (o) => names.push(o.metadata.name));
    await informer.start();
    try {
      const body = (name: string): object => ({
        apiVersion: `${group}/${version}`,
        kind: 'NodeFirewall',
        metadata: { name },
        spec: { script: name, scriptHash: 'h' },
      });
      const mine = nextEvent<NodeFirewall>(informer, 'add', (o) => o.metadata.name === 'node-a');
      await custom.createClusterCustomObject({ group, version, plural, body: body('node-b') });
      await custom.createClusterCustomObject({ group, version, plural, body: body('node-a') });
      await mine;
      assert.deepEqual(names, ['node-a']);
    } finally {
      await informer.stop();
    }
  });
});
