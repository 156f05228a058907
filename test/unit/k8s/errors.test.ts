/**
 * API errors as they are logged and put in conditions: the server's reason
 * and message, read from real client-node exceptions thrown against the
 * embedded API server (which refuses a three-digit Lease MicroTime with the
 * real server's wording).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiException, CoreV1Api } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../support/apiserver/server.js';
import { kubeConfigForServer, makeApiClients } from '../../../src/k8s/client.js';
import { errorText, statusCode } from '../../../src/k8s/errors.js';
import { apiLeaseStore, microTime } from '../../../src/k8s/lease.js';

describe('errorText', () => {
  let server: ApiServer;
  before(async () => {
    server = await startApiServer();
  });
  after(async () => {
    await server.close();
  });

  /** The error `fn` rejects with. */
  const caught = async (fn: () => Promise<unknown>): Promise<unknown> => {
    try {
      await fn();
    } catch (err) {
      return err;
    }
    throw new Error('expected a rejection');
  };

  it("carries the server's reason and message of a client-node ApiException", async () => {
    const core = kubeConfigForServer(server.url).makeApiClient(CoreV1Api);
    const err = await caught(() => core.readNamespace({ name: 'nope' }));
    assert.equal(statusCode(err), 404);
    assert.equal(errorText(err), '404 NotFound: namespaces "nope" not found');
  });

  it('a Lease MicroTime with three fractional digits is refused as the real server refuses it', async () => {
    const clients = makeApiClients(kubeConfigForServer(server.url));
    const err = await caught(() =>
      clients.custom.createNamespacedCustomObject({
        group: 'coordination.k8s.io',
        version: 'v1',
        plural: 'leases',
        namespace: 'default',
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: 'three-digits' },
          spec: { holderIdentity: 'x', renewTime: '2026-11-30T15:24:32.688Z' },
        },
      }),
    );
    assert.equal(
      errorText(err),
      '400 BadRequest: Lease in version "v1" cannot be handled as a Lease: parsing time ' +
        '"2026-11-30T15:24:32.688Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse ".688Z" as ".000000"',
    );
  });

  it('the Lease store writes MicroTimes the server accepts and reads them back unchanged', async () => {
    const store = apiLeaseStore(
      makeApiClients(kubeConfigForServer(server.url)),
      'default',
      'elect',
      'nftpol-test',
    );
    const time = microTime(Date.parse('2026-11-30T15:24:32.688Z'));
    assert.equal(time, '2026-11-30T15:24:32.688000Z');
    const record = {
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      acquireTime: time,
      renewTime: time,
      leaseTransitions: 0,
    };
    const created = await store.create(record);
    assert.deepEqual(created.record, record);
    assert.deepEqual((await store.get())?.record, record);
  });

  const rows: [string, unknown, string][] = [
    [
      'a connection error keeps its code',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }),
      'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:6443',
    ],
    [
      'an ApiException whose body is not a Status shows the body',
      new ApiException(503, 'Service Unavailable', 'etcd is down', {}),
      '503: etcd is down',
    ],
    ['a plain error is its message', new Error('boom'), 'boom'],
    ['a non-error is its string', 'just text', 'just text'],
  ];
  for (const [name, err, want] of rows) it(name, () => assert.equal(errorText(err), want));
});
