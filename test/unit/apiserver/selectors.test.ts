import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../support/apiserver/errors.js';
import { resourceByPlural } from '../../support/apiserver/resources.js';
import {
  matchesFilter,
  parseFieldSelector,
  parseLabelSelector,
} from '../../support/apiserver/selectors.js';
import type { StoredObject } from '../../support/apiserver/store.js';

const pods = resourceByPlural('pods');

function podObject(labels: Record<string, string>, nodeName = 'n1'): StoredObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web',
      namespace: 'a',
      uid: 'u',
      resourceVersion: '1',
      generation: 1,
      creationTimestamp: '2024-01-01T00:00:00Z',
      labels,
    },
    spec: { nodeName },
  };
}

describe('label selectors', () => {
  const rows: readonly {
    name: string;
    selector: string;
    labels: Record<string, string>;
    want: boolean;
  }[] = [
    {
      name: 'equality matches the same value',
      selector: 'app=web',
      labels: { app: 'web' },
      want: true,
    },
    { name: 'double equals is equality', selector: 'app==web', labels: { app: 'web' }, want: true },
    { name: 'equality needs the label', selector: 'app=web', labels: {}, want: false },
    { name: 'inequality matches a missing label', selector: 'app!=web', labels: {}, want: true },
    {
      name: 'inequality rejects the value',
      selector: 'app!=web',
      labels: { app: 'web' },
      want: false,
    },
    {
      name: 'in matches any listed value',
      selector: 'app in (db, web)',
      labels: { app: 'web' },
      want: true,
    },
    {
      name: 'notin rejects a listed value',
      selector: 'app notin (web)',
      labels: { app: 'web' },
      want: false,
    },
    { name: 'existence needs the key', selector: 'app', labels: { app: '' }, want: true },
    { name: 'non-existence rejects the key', selector: '!app', labels: { app: 'x' }, want: false },
    {
      name: 'commas AND the terms',
      selector: 'app in (web,db),tier!=front',
      labels: { app: 'db', tier: 'back' },
      want: true,
    },
    {
      name: 'one failing term fails all',
      selector: 'app=web,tier=back',
      labels: { app: 'web' },
      want: false,
    },
    { name: 'the empty selector matches everything', selector: '', labels: {}, want: true },
    {
      name: 'in works on a prefixed key (an executor selecting its sets)',
      selector: 'nftpol.io/set in (pods-000000000000000a, port-000000000000000b)',
      labels: { 'nftpol.io/set': 'port-000000000000000b' },
      want: true,
    },
    {
      name: 'in rejects a set not listed',
      selector: 'nftpol.io/set in (pods-000000000000000a)',
      labels: { 'nftpol.io/set': 'pods-000000000000000c' },
      want: false,
    },
    {
      name: 'in rejects an object without the label',
      selector: 'nftpol.io/set in (pods-000000000000000a)',
      labels: {},
      want: false,
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const labels = parseLabelSelector(row.selector);
      assert.equal(matchesFilter(podObject(row.labels), { labels }), row.want);
    });
  }

  it('a malformed requirement is a 400 BadRequest', () => {
    assert.throws(
      () => parseLabelSelector('app in web'),
      (err: unknown) => err instanceof ApiError && err.code === 400,
    );
  });
});

describe('field selectors', () => {
  const rows: readonly { name: string; selector: string; want: boolean }[] = [
    { name: 'metadata.name equality', selector: 'metadata.name=web', want: true },
    { name: 'metadata.name inequality', selector: 'metadata.name!=web', want: false },
    { name: 'metadata.namespace', selector: 'metadata.namespace==a', want: true },
    { name: 'spec.nodeName for pods', selector: 'spec.nodeName=n2', want: false },
    { name: 'several terms are ANDed', selector: 'metadata.name=web,spec.nodeName=n1', want: true },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const fields = parseFieldSelector(row.selector, pods);
      assert.equal(matchesFilter(podObject({}), { fields }), row.want);
    });
  }

  it('a field the resource does not index is a 400, as on a real server', () => {
    assert.throws(
      () => parseFieldSelector('spec.nodeName=n1', resourceByPlural('nodefirewalls')),
      (err: unknown) =>
        err instanceof ApiError && err.code === 400 && /not supported/.test(err.message),
    );
  });

  it('escaped commas stay inside the value', () => {
    assert.deepEqual(parseFieldSelector(String.raw`metadata.name=a\,b`, pods), [
      { path: 'metadata.name', operator: 'Equals', value: 'a,b' },
    ]);
  });
});
