import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { apiVersionOf, resourceByPlural } from '../../support/apiserver/resources.js';
import * as nas from '../../../src/k8s/addressset.js';
import * as nfw from '../../../src/k8s/nodefirewall.js';

interface Crd {
  spec: {
    group: string;
    scope: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
    };
    versions: { name: string; subresources?: { status?: object } }[];
  };
}

describe('the NodeFirewall CRD, TS constants and the served resource agree', () => {
  it('group, version, names, scope and the status subresource match', async () => {
    const crd = parse(await readFile('crds/nodefirewalls.nftpol.io.yaml', 'utf8')) as Crd;
    const served = resourceByPlural(nfw.PLURAL);
    assert.deepEqual(
      {
        group: crd.spec.group,
        version: crd.spec.versions[0]?.name,
        kind: crd.spec.names.kind,
        listKind: crd.spec.names.listKind,
        singular: crd.spec.names.singular,
        shortNames: crd.spec.names.shortNames,
        clusterScoped: crd.spec.scope === 'Cluster',
        status: crd.spec.versions[0]?.subresources?.status !== undefined,
      },
      {
        group: nfw.GROUP,
        version: nfw.VERSION,
        kind: nfw.KIND,
        listKind: nfw.LIST_KIND,
        singular: nfw.SINGULAR,
        shortNames: nfw.SHORT_NAMES,
        clusterScoped: !served.namespaced,
        status: served.statusSubresource,
      },
    );
    assert.equal(apiVersionOf(served), nfw.API_VERSION);
  });
});

describe('the AddressSet CRD, TS constants and the served resource agree', () => {
  it('group, version, names, scope and no status subresource match', async () => {
    const crd = parse(await readFile('crds/addresssets.nftpol.io.yaml', 'utf8')) as Crd;
    const served = resourceByPlural(nas.ADDRESS_SET_PLURAL);
    assert.deepEqual(
      {
        group: crd.spec.group,
        version: crd.spec.versions[0]?.name,
        kind: crd.spec.names.kind,
        listKind: crd.spec.names.listKind,
        plural: crd.spec.names.plural,
        singular: crd.spec.names.singular,
        shortNames: crd.spec.names.shortNames,
        clusterScoped: crd.spec.scope === 'Cluster',
        status: crd.spec.versions[0]?.subresources?.status !== undefined,
      },
      {
        group: nfw.GROUP,
        version: nfw.VERSION,
        kind: nas.ADDRESS_SET_KIND,
        listKind: nas.ADDRESS_SET_LIST_KIND,
        plural: nas.ADDRESS_SET_PLURAL,
        singular: nas.ADDRESS_SET_SINGULAR,
        shortNames: nas.ADDRESS_SET_SHORT_NAMES,
        clusterScoped: !served.namespaced,
        status: served.statusSubresource,
      },
    );
    assert.equal(apiVersionOf(served), nfw.API_VERSION);
  });
});

describe('the ClusterNetworkPolicy test CRD and the served resource agree', () => {
  it('group, version, names, scope and the status subresource match; served on demand', async () => {
    const crd = parse(
      await readFile(
        'test/fixtures/crds/clusternetworkpolicies.policy.networking.k8s.io.yaml',
        'utf8',
      ),
    ) as Crd;
    const served = resourceByPlural(crd.spec.names.plural);
    assert.deepEqual(
      {
        apiVersion: `${crd.spec.group}/${crd.spec.versions[0]?.name}`,
        kind: crd.spec.names.kind,
        listKind: crd.spec.names.listKind,
        singular: crd.spec.names.singular,
        shortNames: crd.spec.names.shortNames,
        clusterScoped: crd.spec.scope === 'Cluster',
        status: crd.spec.versions[0]?.subresources?.status !== undefined,
        onDemand: true,
      },
      {
        apiVersion: apiVersionOf(served),
        kind: served.kind,
        listKind: served.listKind,
        singular: served.singular,
        shortNames: served.shortNames,
        clusterScoped: !served.namespaced,
        status: served.statusSubresource,
        onDemand: served.onDemand,
      },
    );
  });
});
