import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../support/apiserver/errors.js';
import {
  applyConfiguration,
  jsonPatch,
  mergePatch,
  patchTypeOf,
  type ApplyRequest,
} from '../../support/apiserver/patch.js';

const request = (manager: string, force = false): ApplyRequest => ({
  manager,
  force,
  scope: 'spec',
  subresource: undefined,
  apiVersion: 'nftpol.io/v1alpha1',
  time: '2024-01-01T00:00:00Z',
  describe: 'nodefirewalls.nftpol.io "n1"',
});

const nfw = (spec: Record<string, unknown>): Record<string, unknown> => ({
  apiVersion: 'nftpol.io/v1alpha1',
  kind: 'NodeFirewall',
  metadata: { name: 'n1' },
  spec,
});

describe('patch content types', () => {
  const rows = [
    ['application/merge-patch+json', 'merge'],
    ['application/strategic-merge-patch+json', 'strategic'],
    ['application/json-patch+json; charset=utf-8', 'json'],
    ['application/apply-patch+yaml', 'apply'],
  ] as const;
  for (const [contentType, type] of rows) {
    it(`${contentType} is a ${type} patch`, () => assert.equal(patchTypeOf(contentType), type));
  }
  it('any other content type is 415', () => {
    assert.throws(
      () => patchTypeOf('application/json'),
      (err: unknown) => err instanceof ApiError && err.code === 415,
    );
  });
});

describe('JSON merge patch (RFC 7386)', () => {
  it('merges maps, replaces lists and deletes on null', () => {
    const target = { a: { b: 1, c: 2 }, l: [1, 2], d: 'x' };
    assert.deepEqual(mergePatch(target, { a: { c: 3 }, l: [9], d: null }), {
      a: { b: 1, c: 3 },
      l: [9],
    });
    assert.deepEqual(target, { a: { b: 1, c: 2 }, l: [1, 2], d: 'x' }, 'input not mutated');
  });
});

describe('JSON patch (RFC 6902)', () => {
  it('applies add, replace, remove, move, copy and test in order', () => {
    const out = jsonPatch({ a: { b: 1 }, l: [1, 2] }, [
      { op: 'add', path: '/l/-', value: 3 },
      { op: 'replace', path: '/a/b', value: 2 },
      { op: 'copy', from: '/a/b', path: '/c' },
      { op: 'move', from: '/c', path: '/d' },
      { op: 'remove', path: '/l/0' },
      { op: 'test', path: '/d', value: 2 },
      { op: 'add', path: '/e~1f', value: true },
    ]);
    assert.deepEqual(out, { a: { b: 2 }, l: [2, 3], d: 2, 'e/f': true });
  });

  it('a failed test is a 422 and changes nothing', () => {
    assert.throws(
      () => jsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }]),
      (err: unknown) => err instanceof ApiError && err.code === 422,
    );
  });

  it('a body that is not a list is a 400 (what a merge body sent as json-patch gets)', () => {
    assert.throws(
      () => jsonPatch({}, { metadata: {} }),
      (err: unknown) => err instanceof ApiError && err.code === 400,
    );
  });
});

describe('server-side apply', () => {
  it('creates from the applied configuration and records an Apply entry', () => {
    const out = applyConfiguration(
      undefined,
      nfw({ script: 's', scriptHash: 'h' }),
      request('ctl'),
    );
    assert.deepEqual(out['spec'], { script: 's', scriptHash: 'h' });
    assert.deepEqual((out['metadata'] as Record<string, unknown>)['managedFields'], [
      {
        manager: 'ctl',
        operation: 'Apply',
        apiVersion: 'nftpol.io/v1alpha1',
        time: '2024-01-01T00:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:spec': { 'f:script': {}, 'f:scriptHash': {} } },
      },
    ]);
  });

  it('removes a field the same manager stopped applying', () => {
    const first = applyConfiguration(
      undefined,
      nfw({ script: 's', scriptHash: 'h' }),
      request('ctl'),
    );
    const second = applyConfiguration(first, nfw({ script: 't' }), request('ctl'));
    assert.deepEqual(second['spec'], { script: 't' });
  });

  it('keeps a field another manager owns when this manager stops applying it', () => {
    const first = applyConfiguration(undefined, nfw({ script: 's' }), request('a'));
    const shared = applyConfiguration(first, nfw({ script: 's', scriptHash: 'h' }), request('b'));
    const out = applyConfiguration(shared, nfw({}), request('a'));
    assert.deepEqual(out['spec'], { script: 's', scriptHash: 'h' });
  });

  it('a different value in a field another manager owns is a 409 naming the field', () => {
    const first = applyConfiguration(undefined, nfw({ script: 's' }), request('a'));
    assert.throws(
      () => applyConfiguration(first, nfw({ script: 'other' }), request('b')),
      (err: unknown) =>
        err instanceof ApiError &&
        err.code === 409 &&
        /conflict with "a": \.spec\.script/.test(err.message),
    );
  });

  it('force takes the field over', () => {
    const first = applyConfiguration(undefined, nfw({ script: 's' }), request('a'));
    const out = applyConfiguration(first, nfw({ script: 'other' }), request('b', true));
    assert.equal((out['spec'] as Record<string, unknown>)['script'], 'other');
    const managers = (
      (out['metadata'] as Record<string, unknown>)['managedFields'] as { manager: string }[]
    ).map((e) => e.manager);
    assert.deepEqual(managers, ['b']);
  });

  it('lists are atomic: the applied list replaces the old one', () => {
    const first = applyConfiguration(
      undefined,
      nfw({ summary: { policyNames: ['a/x', 'a/y'] } }),
      request('ctl'),
    );
    const out = applyConfiguration(
      first,
      nfw({ summary: { policyNames: ['a/z'] } }),
      request('ctl'),
    );
    assert.deepEqual(out['spec'], { summary: { policyNames: ['a/z'] } });
  });
});
