import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../support/apiserver/errors.js';
import { ApiStore } from '../../support/apiserver/store.js';

const NOW = new Date('2024-05-01T10:00:00.123Z');

function newStore(options: { maxObjectBytes?: number } = {}): ApiStore {
  return new ApiStore({ now: () => NOW, ...options });
}

function nfw(
  name: string,
  script: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: 'nftpol.io/v1alpha1',
    kind: 'NodeFirewall',
    metadata: { name },
    spec: { script, scriptHash: `sha256:${script}` },
    ...extra,
  };
}

function pod(
  name: string,
  nodeName: string,
  labels: Record<string, string> = {},
): Record<string, unknown> {
  return { metadata: { name, namespace: 'a', labels }, spec: { nodeName } };
}

function isApiError(code: number, reason: string) {
  return (err: unknown): boolean =>
    err instanceof ApiError && err.code === code && err.reason === reason;
}

describe('metadata the server owns', () => {
  it('create fills uid, creationTimestamp, generation 1 and an increasing resourceVersion', () => {
    const store = newStore();
    const a = store.create('pods', pod('a', 'n1'));
    const b = store.create('pods', pod('b', 'n1'));
    assert.match(a.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.equal(a.metadata.creationTimestamp, '2024-05-01T10:00:00Z');
    assert.equal(a.metadata.generation, 1);
    assert.ok(Number(b.metadata.resourceVersion) > Number(a.metadata.resourceVersion));
    assert.equal(store.list('pods').resourceVersion, b.metadata.resourceVersion);
  });

  it('namespaces carry kubernetes.io/metadata.name', () => {
    const ns = newStore().create('namespaces', { metadata: { name: 'team-a' } });
    assert.equal(ns.metadata.labels?.['kubernetes.io/metadata.name'], 'team-a');
  });

  it('create of an existing name is 409 AlreadyExists', () => {
    const store = newStore();
    store.create('pods', pod('a', 'n1'));
    assert.throws(() => store.create('pods', pod('a', 'n2')), isApiError(409, 'AlreadyExists'));
  });

  it('generateName makes a unique name', () => {
    const store = newStore();
    const made = store.create('events', {
      metadata: { generateName: 'n1.', namespace: 'default' },
    });
    assert.match(made.metadata.name, /^n1\.[0-9a-f]{5}$/);
  });
});

describe('generation', () => {
  const rows: readonly {
    name: string;
    plural: 'nodefirewalls' | 'pods';
    change: (store: ApiStore) => void;
    want: number;
  }[] = [
    {
      name: 'a NodeFirewall spec change bumps generation',
      plural: 'nodefirewalls',
      change: (s) => s.patch('nodefirewalls', { name: 'x' }, 'merge', { spec: { script: 'new' } }),
      want: 2,
    },
    {
      name: 'a NodeFirewall status write leaves generation alone',
      plural: 'nodefirewalls',
      change: (s) =>
        s.patch('nodefirewalls', { name: 'x', subresource: 'status' }, 'merge', {
          status: { appliedHash: 'h' },
        }),
      want: 1,
    },
    {
      name: 'a NodeFirewall label change leaves generation alone',
      plural: 'nodefirewalls',
      change: (s) =>
        s.patch('nodefirewalls', { name: 'x' }, 'merge', { metadata: { labels: { a: 'b' } } }),
      want: 1,
    },
    {
      name: 'a Pod spec change bumps generation',
      plural: 'pods',
      change: (s) =>
        s.patch('pods', { namespace: 'a', name: 'x' }, 'merge', { spec: { nodeName: 'n2' } }),
      want: 2,
    },
    {
      name: 'a Pod status change bumps generation (no strict status subresource)',
      plural: 'pods',
      change: (s) =>
        s.patch('pods', { namespace: 'a', name: 'x' }, 'merge', { status: { phase: 'Running' } }),
      want: 2,
    },
    {
      name: 'a Pod label change leaves generation alone',
      plural: 'pods',
      change: (s) =>
        s.patch('pods', { namespace: 'a', name: 'x' }, 'merge', {
          metadata: { labels: { a: 'b' } },
        }),
      want: 1,
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const store = newStore();
      store.create(row.plural, row.plural === 'pods' ? pod('x', 'n1') : nfw('x', 'old'));
      row.change(store);
      assert.equal(store.get(row.plural, 'a', 'x')?.metadata.generation, row.want);
    });
  }
});

describe('status subresource (nodefirewalls)', () => {
  it('create drops status', () => {
    const made = newStore().create(
      'nodefirewalls',
      nfw('n1', 's', { status: { appliedHash: 'x' } }),
    );
    assert.equal(made['status'], undefined);
  });

  it('a main-resource replace ignores status', () => {
    const store = newStore();
    store.create('nodefirewalls', nfw('n1', 's'));
    store.replace(
      'nodefirewalls',
      { ...nfw('n1', 's'), status: { appliedHash: 'h1' } },
      { subresource: 'status', name: 'n1' },
    );
    const out = store.replace(
      'nodefirewalls',
      { ...nfw('n1', 't'), status: { appliedHash: 'lie' } },
      { name: 'n1' },
    );
    assert.deepEqual(out['status'], { appliedHash: 'h1' });
    assert.equal((out['spec'] as { script: string }).script, 't');
  });

  it('a status replace ignores spec', () => {
    const store = newStore();
    store.create('nodefirewalls', nfw('n1', 's'));
    const out = store.replace(
      'nodefirewalls',
      { ...nfw('n1', 'changed'), status: { appliedHash: 'h' } },
      {
        name: 'n1',
        subresource: 'status',
      },
    );
    assert.equal((out['spec'] as { script: string }).script, 's');
    assert.deepEqual(out['status'], { appliedHash: 'h' });
  });
});

describe('optimistic concurrency and no-ops', () => {
  it('a replace carrying a stale resourceVersion is 409 Conflict', () => {
    const store = newStore();
    const first = store.create('pods', pod('a', 'n1'));
    store.replace('pods', { ...first, metadata: { ...first.metadata, labels: { v: '2' } } });
    assert.throws(
      () =>
        store.replace('pods', { ...first, metadata: { ...first.metadata, labels: { v: '3' } } }),
      isApiError(409, 'Conflict'),
    );
  });

  it('a write that changes nothing commits nothing', () => {
    const store = newStore();
    const first = store.create('pods', pod('a', 'n1', { app: 'web' }));
    const again = store.patch('pods', { namespace: 'a', name: 'a' }, 'merge', {
      metadata: { labels: { app: 'web' } },
    });
    assert.equal(again.metadata.resourceVersion, first.metadata.resourceVersion);
    assert.equal(store.resourceVersion, Number(first.metadata.resourceVersion));
  });

  it('delete preconditions on resourceVersion are enforced', () => {
    const store = newStore();
    store.create('pods', pod('a', 'n1'));
    assert.throws(
      () => store.delete('pods', 'a', 'a', { preconditions: { resourceVersion: '999' } }),
      isApiError(409, 'Conflict'),
    );
  });
});

describe('garbage collection', () => {
  it('deleting a Node deletes the NodeFirewall it owns', () => {
    const store = newStore();
    const node = store.create('nodes', { metadata: { name: 'n1' } });
    const owner = { apiVersion: 'v1', kind: 'Node', name: 'n1', uid: node.metadata.uid };
    store.create('nodefirewalls', {
      ...nfw('n1', 's'),
      metadata: { name: 'n1', ownerReferences: [owner] },
    });
    store.create('nodefirewalls', nfw('n2', 's'));
    store.delete('nodes', undefined, 'n1');
    assert.deepEqual(
      store.list('nodefirewalls').items.map((o) => o.metadata.name),
      ['n2'],
    );
  });
});

describe('limits and history', () => {
  it('an object over the etcd limit is refused with the real server error', () => {
    const store = newStore({ maxObjectBytes: 1000 });
    assert.throws(
      () => store.create('nodefirewalls', nfw('n1', 'x'.repeat(2000))),
      (err: unknown) =>
        err instanceof ApiError && err.code === 500 && /too large/.test(err.message),
    );
  });

  it('compaction expires older resourceVersions but not the current one', () => {
    const store = newStore();
    store.create('pods', pod('a', 'n1'));
    store.create('pods', pod('b', 'n1'));
    const rv = store.compact();
    assert.equal(store.history.since(rv - 1), 'expired');
    assert.deepEqual(store.history.since(rv), []);
  });
});
