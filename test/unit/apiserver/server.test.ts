/**
 * REST semantics of the embedded API server, driven by the real
 * @kubernetes/client-node typed APIs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type V1Lease,
} from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../support/apiserver/server.js';
import { kubeConfigForServer } from '../../../src/k8s/client.js';
import type { NodeFirewall } from '../../../src/k8s/nodefirewall.js';

const group = 'nftpol.io';
const version = 'v1alpha1';
const plural = 'nodefirewalls';

/** Runs `call` and returns the ApiException it must throw. */
async function rejection(call: () => Promise<unknown>): Promise<ApiException<unknown>> {
  try {
    await call();
  } catch (err) {
    if (err instanceof ApiException) return err as ApiException<unknown>;
    throw err;
  }
  throw new Error('expected the call to fail');
}

function statusOf(err: ApiException<unknown>): { reason?: string; code?: number } {
  const body: unknown = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
  return body as { reason?: string; code?: number };
}

function firewall(name: string, script: string, extra: object = {}): object {
  return {
    apiVersion: `${group}/${version}`,
    kind: 'NodeFirewall',
    metadata: { name },
    spec: { script, scriptHash: `sha256:${script}` },
    ...extra,
  };
}

describe('REST semantics with the real client-node', () => {
  let server: ApiServer;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let coordination: CoordinationV1Api;

  before(async () => {
    server = await startApiServer();
    const kc = kubeConfigForServer(server.url);
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    coordination = kc.makeApiClient(CoordinationV1Api);
  });
  after(async () => server.close());

  it('get of a missing object is a 404 NotFound Status', async () => {
    const err = await rejection(() => core.readNamespacedPod({ namespace: 'a', name: 'nope' }));
    assert.equal(err.code, 404);
    assert.equal(statusOf(err).reason, 'NotFound');
  });

  it('create is 201 then 409 AlreadyExists; delete returns the object', async () => {
    const body = { metadata: { name: 'n1' } };
    await core.createNode({ body });
    const err = await rejection(() => core.createNode({ body }));
    assert.deepEqual([err.code, statusOf(err).reason], [409, 'AlreadyExists']);
    assert.deepEqual(
      server.requests.filter((r) => r.path === '/api/v1/nodes').map((r) => r.status),
      [201, 409],
    );
    // client-node types delete responses as V1Status; read the raw body instead.
    const response = await fetch(`${server.url}/api/v1/nodes/n1`, { method: 'DELETE' });
    const deleted = (await response.json()) as { kind: string; metadata: { name: string } };
    assert.deepEqual([response.status, deleted.kind, deleted.metadata.name], [200, 'Node', 'n1']);
  });

  it('an update carrying a stale resourceVersion is a 409 Conflict', async () => {
    const first = await core.createNamespacedPod({
      namespace: 'a',
      body: { metadata: { name: 'stale' }, spec: { containers: [{ name: 'c', image: 'i' }] } },
    });
    await core.replaceNamespacedPod({
      namespace: 'a',
      name: 'stale',
      body: { ...first, metadata: { ...first.metadata, labels: { v: '2' } } },
    });
    const err = await rejection(() =>
      core.replaceNamespacedPod({
        namespace: 'a',
        name: 'stale',
        body: { ...first, metadata: { ...first.metadata, labels: { v: '3' } } },
      }),
    );
    assert.deepEqual([err.code, statusOf(err).reason], [409, 'Conflict']);
  });

  it('lists strip kind from built-in items but keep it on custom resources, like the real server', async () => {
    await custom.createClusterCustomObject({
      group,
      version,
      plural,
      body: firewall('list-a', 's'),
    });
    const response = await fetch(`${server.url}/api/v1/namespaces/a/pods`);
    const pods = (await response.json()) as { kind: string; items: { kind?: string }[] };
    assert.equal(pods.kind, 'PodList');
    assert.equal(pods.items[0]?.kind, undefined);
    const nfws = (await custom.listClusterCustomObject({ group, version, plural })) as {
      items: NodeFirewall[];
    };
    assert.equal(nfws.items[0]?.kind, 'NodeFirewall');
  });

  it('the status subresource changes only status, the main resource only the rest', async () => {
    const name = 'status-a';
    await custom.createClusterCustomObject({
      group,
      version,
      plural,
      body: firewall(name, 'v1', { status: { appliedHash: 'dropped on create' } }),
    });
    const withStatus = (await custom.patchClusterCustomObjectStatus(
      {
        group,
        version,
        plural,
        name,
        body: { spec: { script: 'ignored' }, status: { appliedHash: 'sha256:v1' } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as NodeFirewall;
    assert.equal(withStatus.spec.script, 'v1');
    assert.equal(withStatus.status?.appliedHash, 'sha256:v1');
    assert.equal(withStatus.metadata.generation, 1);

    const newSpec = (await custom.patchClusterCustomObject(
      {
        group,
        version,
        plural,
        name,
        body: { spec: { script: 'v2' }, status: { appliedHash: 'ignored' } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as NodeFirewall;
    assert.equal(newSpec.spec.script, 'v2');
    assert.equal(newSpec.status?.appliedHash, 'sha256:v1');
    assert.equal(newSpec.metadata.generation, 2);
  });

  it('server-side apply creates, then a changed apply updates and drops what it no longer sends', async () => {
    const name = 'ssa-a';
    const apply = (body: object, fieldManager: string, force = false): Promise<NodeFirewall> =>
      custom.patchClusterCustomObject(
        { group, version, plural, name, body, fieldManager, force },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      ) as Promise<NodeFirewall>;
    const created = await apply(
      firewall(name, 'one', { spec: { script: 'one', scriptHash: 'h1', summary: { rules: 1 } } }),
      'nftpol-controller',
    );
    assert.equal(server.requests.at(-1)?.status, 201);
    assert.equal(created.metadata.generation, 1);
    await custom.patchClusterCustomObjectStatus(
      { group, version, plural, name, body: { status: { appliedHash: 'h1' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const updated = await apply(
      firewall(name, 'two', { spec: { script: 'two', scriptHash: 'h2' } }),
      'nftpol-controller',
    );
    assert.deepEqual(updated.spec, { script: 'two', scriptHash: 'h2' });
    assert.equal(
      updated.status?.appliedHash,
      'h1',
      'apply on the main resource leaves status alone',
    );
    assert.equal(updated.metadata.generation, 2);
    const entry = (
      updated.metadata as { managedFields?: { manager: string; operation: string }[] }
    ).managedFields?.find((e) => e.manager === 'nftpol-controller');
    assert.equal(entry?.operation, 'Apply');

    const conflict = await rejection(() => apply(firewall(name, 'three'), 'someone-else'));
    assert.deepEqual([conflict.code, statusOf(conflict).reason], [409, 'Conflict']);
    const forced = await apply(firewall(name, 'three'), 'someone-else', true);
    assert.equal(forced.spec.script, 'three');
  });

  it('client-node sends json-patch by default: a merge-style body without the header is a 400', async () => {
    await core.createNamespace({ body: { metadata: { name: 'jp' } } });
    const err = await rejection(() =>
      core.patchNamespace({ name: 'jp', body: { metadata: { labels: { a: 'b' } } } }),
    );
    assert.equal(err.code, 400);
    const ns = await core.patchNamespace({
      name: 'jp',
      body: [{ op: 'add', path: '/metadata/labels/a', value: 'b' }],
    });
    assert.equal(ns.metadata?.labels?.['a'], 'b');
  });

  it('a Lease is created once and updated only from its latest resourceVersion', async () => {
    const namespace = 'kube-system';
    const lease: V1Lease = {
      metadata: { name: 'nftpol-controller', namespace },
      spec: { holderIdentity: 'a', leaseDurationSeconds: 15 },
    };
    const created = await coordination.createNamespacedLease({ namespace, body: lease });
    const dup = await rejection(() =>
      coordination.createNamespacedLease({ namespace, body: lease }),
    );
    assert.equal(statusOf(dup).reason, 'AlreadyExists');
    const renewed = await coordination.replaceNamespacedLease({
      namespace,
      name: 'nftpol-controller',
      body: { ...created, spec: { ...created.spec, holderIdentity: 'a', leaseTransitions: 0 } },
    });
    const stolen = await rejection(() =>
      coordination.replaceNamespacedLease({
        namespace,
        name: 'nftpol-controller',
        body: { ...created, spec: { ...created.spec, holderIdentity: 'b' } },
      }),
    );
    assert.deepEqual([stolen.code, statusOf(stolen).reason], [409, 'Conflict']);
    const read = await coordination.readNamespacedLease({ namespace, name: 'nftpol-controller' });
    assert.equal(read.metadata?.resourceVersion, renewed.metadata?.resourceVersion);
    assert.equal(read.spec?.holderIdentity, 'a');
  });

  it('events are created per namespace and listed by involved object', async () => {
    const event = (name: string) => ({
      metadata: { name, namespace: 'default' },
      involvedObject: { kind: 'NodeFirewall', name, apiVersion: `${group}/${version}` },
      reason: 'Published',
      message: 'published script',
      type: 'Normal',
    });
    await core.createNamespacedEvent({ namespace: 'default', body: event('node-a') });
    await core.createNamespacedEvent({ namespace: 'default', body: event('node-b') });
    const list = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'involvedObject.name=node-b',
    });
    assert.deepEqual(
      list.items.map((e) => e.metadata.name),
      ['node-b'],
    );
  });

  it('label selectors filter lists', async () => {
    for (const [name, app] of [
      ['l1', 'web'],
      ['l2', 'db'],
      ['l3', 'cache'],
    ] as const) {
      await core.createNamespacedPod({
        namespace: 'labels',
        body: {
          metadata: { name, labels: { app } },
          spec: { containers: [{ name: 'c', image: 'i' }] },
        },
      });
    }
    const list = await core.listNamespacedPod({
      namespace: 'labels',
      labelSelector: 'app in (web,db),app!=db',
    });
    assert.deepEqual(
      list.items.map((p) => p.metadata?.name),
      ['l1'],
    );
  });

  it('AddressSets are listed by set label (`nftpol.io/set in (…)`) and have no status subresource', async () => {
    const slice = (setId: string, index: number): object => ({
      apiVersion: `${group}/${version}`,
      kind: 'AddressSet',
      metadata: { name: `${setId}-${index}`, labels: { 'nftpol.io/set': setId } },
      spec: { setId, kind: 'addr', peer: 'p', memberCount: 0 },
    });
    const [a, b, c] = ['pods-000000000000000a', 'pods-000000000000000b', 'pods-000000000000000c'];
    for (const body of [slice(a, 0), slice(a, 1), slice(b, 0), slice(c, 0)]) {
      await custom.createClusterCustomObject({ group, version, plural: 'addresssets', body });
    }
    const list = (await custom.listClusterCustomObject({
      group,
      version,
      plural: 'addresssets',
      labelSelector: `nftpol.io/set in (${a},${b})`,
    })) as { items: { metadata: { name: string } }[] };
    assert.deepEqual(list.items.map((i) => i.metadata.name).sort(), [`${a}-0`, `${a}-1`, `${b}-0`]);
    const status = await fetch(`${server.url}/apis/${group}/${version}/addresssets/${a}-0/status`);
    assert.equal(status.status, 404);
    const resources = (await (await fetch(`${server.url}/apis/${group}/${version}`)).json()) as {
      resources: { name: string }[];
    };
    assert.deepEqual(resources.resources.map((r) => r.name).sort(), [
      'addresssets',
      'nodefirewalls',
      'nodefirewalls/status',
    ]);
  });

  it('discovery names the served groups and /version answers', async () => {
    const groups = (await (await fetch(`${server.url}/apis`)).json()) as {
      groups: { name: string }[];
    };
    assert.deepEqual(groups.groups.map((g) => g.name).sort(), [
      'coordination.k8s.io',
      'networking.k8s.io',
      'nftpol.io',
    ]);
    const missing = await fetch(`${server.url}/apis/example.com/v1/widgets`);
    assert.equal(missing.status, 404);
    const versionInfo = (await (await fetch(`${server.url}/version`)).json()) as { major: string };
    assert.equal(versionInfo.major, '1');
  });

  it('ClusterNetworkPolicies are served only once installed, as a CRD a cluster may lack', async () => {
    const cnps = `${server.url}/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies`;
    const groupNames = async (): Promise<string[]> => {
      const list = (await (await fetch(`${server.url}/apis`)).json()) as {
        groups: { name: string }[];
      };
      return list.groups.map((g) => g.name);
    };
    assert.equal((await fetch(cnps)).status, 404);
    assert.ok(!(await groupNames()).includes('policy.networking.k8s.io'));
    server.store.install('clusternetworkpolicies');
    const created: unknown = await custom.createClusterCustomObject({
      group: 'policy.networking.k8s.io',
      version: 'v1alpha2',
      plural: 'clusternetworkpolicies',
      body: {
        apiVersion: 'policy.networking.k8s.io/v1alpha2',
        kind: 'ClusterNetworkPolicy',
        metadata: { name: 'guard' },
        spec: { tier: 'Admin', priority: 10, subject: { namespaces: {} } },
      },
    });
    assert.equal((created as { metadata: { name: string } }).metadata.name, 'guard');
    const list = (await (await fetch(cnps)).json()) as { items: { kind: string }[] };
    assert.deepEqual(
      list.items.map((i) => i.kind),
      ['ClusterNetworkPolicy'],
    );
    assert.ok((await groupNames()).includes('policy.networking.k8s.io'));
  });
});
