/**
 * Our structural ClusterNetworkPolicy CRD (test/fixtures/crds/, written from
 * the upstream v1alpha2 Go types) on the real kube-apiserver, beside the
 * loader (src/policy/cluster-policy-from-k8s.ts), so that the CRD the test
 * servers and `make demo` install holds the upstream contract and the loader
 * agrees with it:
 *
 *  - before installClusterPolicyCrd the resource is not served (a cluster
 *    without network-policy-api's CRD), after it it is;
 *  - the examples (examples/cluster-policies.yaml) and a policy using every
 *    field (experimental peers included) are accepted, and what the server
 *    returns loads with no error (fail-closed warnings only);
 *  - each obviously bad policy (tier Foo, priority 1001, …) is refused by the
 *    server (422) and is an error for the loader too; the one exception,
 *    `networks` in an ingress peer, which the schema prunes and then refuses
 *    as an empty peer, the loader reads as a peer it cannot honour and fails
 *    closed (a warning), as the API asks of implementations.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';

import { clusterPolicyFromK8s } from '../../src/policy/cluster-policy-from-k8s.js';
import {
  ApiStatusError,
  collectionPath,
  installClusterPolicyCrd,
  realServerSkip,
  startTestApi,
  type ApiObject,
  type TestApi,
} from '../support/test-api.js';

const PLURAL = 'clusternetworkpolicies';
const REPO = join(import.meta.dirname, '..', '..');

type Json = Record<string, unknown>;

/** A ClusterNetworkPolicy; `spec` overrides a minimal valid one. */
function cnp(name: string, spec: Json = {}): ApiObject {
  return {
    apiVersion: 'policy.networking.k8s.io/v1alpha2',
    kind: 'ClusterNetworkPolicy',
    metadata: { name },
    spec: { tier: 'Admin', priority: 10, subject: { namespaces: {} }, ...spec },
  };
}

const ALL = { namespaces: {} };
const deny = (from: unknown[], more: Json = {}): Json => ({ action: 'Deny', from, ...more });
const denyTo = (to: unknown[], more: Json = {}): Json => ({ action: 'Deny', to, ...more });
const port = (destinationPort: Json): Json => ({ tcp: { destinationPort } });

/** Policies both the CRD and the loader must refuse, and the field the server names. */
const BAD: { name: string; field: string; spec: Json }[] = [
  { name: 'tier Foo', field: 'spec.tier', spec: { tier: 'Foo' } },
  { name: 'priority 1001', field: 'spec.priority', spec: { priority: 1001 } },
  { name: 'priority -1', field: 'spec.priority', spec: { priority: -1 } },
  { name: 'no subject', field: 'spec.subject', spec: { subject: undefined } },
  {
    name: 'a subject with both fields',
    field: 'spec.subject',
    spec: { subject: { ...ALL, pods: { podSelector: {} } } },
  },
  { name: 'an empty subject', field: 'spec.subject', spec: { subject: {} } },
  {
    name: 'a pods subject without podSelector',
    field: 'spec.subject.pods.podSelector',
    spec: { subject: { pods: {} } },
  },
  {
    name: '26 ingress rules',
    field: 'spec.ingress',
    spec: { ingress: Array.from({ length: 26 }, () => deny([ALL])) },
  },
  {
    name: 'a rule name of 101 characters',
    field: 'spec.ingress[0].name',
    spec: { ingress: [deny([ALL], { name: 'n'.repeat(101) })] },
  },
  {
    name: 'action Allow',
    field: 'spec.ingress[0].action',
    spec: { ingress: [{ action: 'Allow', from: [ALL] }] },
  },
  {
    name: 'a rule without from',
    field: 'spec.ingress[0].from',
    spec: { ingress: [{ action: 'Deny' }] },
  },
  { name: 'an empty from', field: 'spec.ingress[0].from', spec: { ingress: [deny([])] } },
  {
    name: '26 peers',
    field: 'spec.ingress[0].from',
    spec: { ingress: [deny(Array.from({ length: 26 }, () => ALL))] },
  },
  {
    name: 'a peer with two fields',
    field: 'spec.ingress[0].from[0]',
    spec: { ingress: [deny([{ ...ALL, pods: { podSelector: {} } }])] },
  },
  {
    name: 'an invalid CIDR',
    field: 'spec.egress[0].to[0].networks[0]',
    spec: { egress: [denyTo([{ networks: ['10.0.0.0/33'] }])] },
  },
  {
    name: 'empty networks',
    field: 'spec.egress[0].to[0].networks',
    spec: { egress: [denyTo([{ networks: [] }])] },
  },
  {
    name: 'empty protocols',
    field: 'spec.ingress[0].protocols',
    spec: { ingress: [deny([ALL], { protocols: [] })] },
  },
  {
    name: 'a protocol entry with tcp and udp',
    field: 'spec.ingress[0].protocols[0]',
    spec: {
      ingress: [
        deny([ALL], {
          protocols: [{ ...port({ number: 1 }), udp: { destinationPort: { number: 1 } } }],
        }),
      ],
    },
  },
  {
    name: 'tcp without destinationPort',
    field: 'spec.ingress[0].protocols[0].tcp',
    spec: { ingress: [deny([ALL], { protocols: [{ tcp: {} }] })] },
  },
  {
    name: 'port 0',
    field: 'spec.ingress[0].protocols[0].tcp.destinationPort.number',
    spec: { ingress: [deny([ALL], { protocols: [port({ number: 0 })] })] },
  },
  {
    name: 'port 65536',
    field: 'spec.ingress[0].protocols[0].tcp.destinationPort.number',
    spec: { ingress: [deny([ALL], { protocols: [port({ number: 65536 })] })] },
  },
  {
    name: 'number and range',
    field: 'spec.ingress[0].protocols[0].tcp.destinationPort',
    spec: {
      ingress: [deny([ALL], { protocols: [port({ number: 1, range: { start: 1, end: 2 } })] })],
    },
  },
  {
    name: 'a range with start 90 and end 80',
    field: 'spec.ingress[0].protocols[0].tcp.destinationPort.range',
    spec: { ingress: [deny([ALL], { protocols: [port({ range: { start: 90, end: 80 } })] })] },
  },
  {
    name: 'a range with start equal to end',
    field: 'spec.ingress[0].protocols[0].tcp.destinationPort.range',
    spec: { ingress: [deny([ALL], { protocols: [port({ range: { start: 80, end: 80 } })] })] },
  },
  {
    name: 'a named port with a networks peer',
    field: 'spec.egress[0]',
    spec: {
      egress: [
        denyTo([{ networks: ['10.0.0.0/8'] }], { protocols: [{ destinationNamedPort: 'http' }] }),
      ],
    },
  },
];

describe(
  'the ClusterNetworkPolicy test CRD on the real kube-apiserver',
  { skip: realServerSkip() },
  () => {
    let api: TestApi;

    /** POSTs `object`; resolves with the stored object, or the HTTP code of a refusal. */
    async function create(object: ApiObject): Promise<ApiObject | number> {
      try {
        return await api.request<ApiObject>('POST', collectionPath(PLURAL), { body: object });
      } catch (err) {
        if (err instanceof ApiStatusError) return err.code;
        throw err;
      }
    }

    before(async () => {
      api = await startTestApi('cluster-policy-crd');
    });
    after(() => api?.stop());

    it('is not served until installed, then is', async () => {
      const before = await api.request('GET', collectionPath(PLURAL)).catch((e: unknown) => e);
      assert.ok(before instanceof ApiStatusError && before.code === 404, String(before));
      await installClusterPolicyCrd(api);
      const list = await api.request<{ items: unknown[] }>('GET', collectionPath(PLURAL));
      assert.deepEqual(list.items, []);
    });

    it('accepts the examples, and what it stores loads with no problem', async () => {
      const text = readFileSync(join(REPO, 'examples', 'cluster-policies.yaml'), 'utf8');
      const objects = parseAllDocuments(text).map((d) => d.toJSON() as ApiObject);
      assert.ok(objects.length >= 2);
      for (const object of objects) {
        const stored = await create(object);
        assert.ok(
          !(stored instanceof ApiStatusError),
          stored instanceof Error ? stored.message : '',
        );
        const loaded = clusterPolicyFromK8s(stored, object.metadata.name);
        assert.deepEqual(loaded.problems, []);
        assert.equal(loaded.value?.name, object.metadata.name);
      }
    });

    it('accepts every field, experimental peers included; the loader fails those closed', async () => {
      const stored = await create(
        cnp('every-field', {
          tier: 'Baseline',
          priority: 1000,
          subject: {
            pods: {
              namespaceSelector: { matchLabels: { team: 'a' } },
              podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['x'] }] },
            },
          },
          ingress: [
            {
              name: 'n'.repeat(100),
              action: 'Pass',
              from: [ALL, { pods: { podSelector: {} } }],
              protocols: [
                port({ number: 80 }),
                { udp: { destinationPort: { range: { start: 1, end: 65535 } } } },
                { sctp: { destinationPort: { number: 9 } } },
                { destinationNamedPort: 'http' },
              ],
            },
          ],
          egress: [
            denyTo([
              { networks: ['10.0.0.0/8', 'fd00::/8'] },
              { nodes: {} },
              { domainNames: ['*.example.com'] },
            ]),
            { action: 'Accept', to: [ALL], protocols: [{ destinationNamedPort: 'dns' }] },
          ],
        }),
      );
      assert.ok(!(stored instanceof ApiStatusError), stored instanceof Error ? stored.message : '');
      const loaded = clusterPolicyFromK8s(stored);
      assert.deepEqual(
        loaded.problems.map((p) => `${p.severity} ${p.field}`),
        ['warning spec.egress[0]: to[1].nodes', 'warning spec.egress[0]: to[2].domainNames'],
      );
      assert.equal(
        loaded.value?.egress[0]?.failClosed,
        'to[1]: nodes peers are not supported; to[2]: domainNames peers are not supported',
      );
    });

    for (const row of BAD) {
      it(`refuses ${row.name}, and so does the loader`, async () => {
        const object = cnp(`bad-${BAD.indexOf(row)}`, row.spec);
        assert.equal(await create(object), 422);
        const loaded = clusterPolicyFromK8s(object);
        assert.equal(loaded.value, null);
        assert.ok(loaded.problems.some((p) => p.severity === 'error'));
      });
    }

    it('refuses networks in an ingress peer (pruned, then an empty peer); the loader fails it closed', async () => {
      const object = cnp('ingress-networks', {
        ingress: [{ action: 'Accept', from: [{ networks: ['10.0.0.0/8'] }] }],
      });
      assert.equal(await create(object), 422);
      const loaded = clusterPolicyFromK8s(object);
      assert.equal(
        loaded.value?.ingress[0]?.failClosed,
        'from[0]: "networks" is not a field of an ingress peer (only egress peers have it)',
      );
      assert.deepEqual(
        loaded.problems.map((p) => p.severity),
        ['warning'],
      );
    });
  },
);
