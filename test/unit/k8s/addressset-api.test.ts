import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressSetBody, PEER_MAX_LENGTH } from '../../../src/k8s/addressset-api.js';

const POD_SET = 'pods-0123456789abcdef';
const PORT_SET = 'port-fedcba9876543210';
const AT = '2025-01-01T00:00:00.000Z';

describe('addressSetBody', () => {
  it('names, labels and annotates the slice and counts its members', () => {
    assert.deepEqual(addressSetBody(POD_SET, 'addr', 'shop: app=web', 2, ['10.0.0.1'], AT), {
      apiVersion: 'nftpol.io/v1alpha1',
      kind: 'AddressSet',
      metadata: {
        name: `${POD_SET}-2`,
        labels: { 'nftpol.io/set': POD_SET },
        annotations: { 'nftpol.io/written-at': AT },
      },
      spec: {
        setId: POD_SET,
        kind: 'addr',
        peer: 'shop: app=web',
        members: ['10.0.0.1'],
        memberCount: 1,
      },
    });
  });

  it('writes an empty slice with a count of 0', () => {
    const body = addressSetBody(PORT_SET, 'addrPort', 'p', 0, [], AT);
    assert.deepEqual([body.spec.members, body.spec.memberCount], [[], 0]);
  });

  it('cuts a peer longer than the CRD allows and marks the cut', () => {
    const peer = addressSetBody(POD_SET, 'addr', 'x'.repeat(5000), 0, [], AT).spec.peer;
    assert.equal([...peer].length, PEER_MAX_LENGTH);
    assert.ok(peer.endsWith('…'));
  });

  it('refuses a kind the set id does not name, and a malformed id', () => {
    assert.throws(() => addressSetBody(POD_SET, 'addrPort', 'p', 0, [], AT), /holds addr/);
    assert.throws(() => addressSetBody('pods-xyz', 'addr', 'p', 0, [], AT), /not a set id/);
  });
});
