/**
 * `nftpol explain` about a pod whose IP another live pod also claims: the
 * answer is about the pod asked for, decided — as on the dataplane, which
 * dispatches by IP — by the policies of the pod the IP is enforced for, and
 * it says so. Before, `--to b/twin` silently answered with a/web's ingress.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  explainQuery,
  findPodByIp,
  type ExplainOptions,
} from '../../../src/cli/commands/explain.js';
import { formatExplanationJson, formatExplanationText } from '../../../src/cli/format.js';
import { cluster, ns, pod, policy, port, rule, sel } from '../../support/builders.js';

const T1 = Date.parse('2024-05-01T10:00:00Z');
const T2 = Date.parse('2024-05-01T11:00:00Z');

// a/web (newer) and b/twin (older) both claim 10.0.0.5; a/web's policy opens 80, b/twin's 81.
const CLUSTER = cluster(
  [ns('a'), ns('b'), ns('c')],
  [
    pod('a/web', { app: 'web' }, { nodeName: 'n1', ips: ['10.0.0.5'], created: T2 }),
    pod('b/twin', { app: 'twin' }, { nodeName: 'n1', ips: ['10.0.0.5'], created: T1 }),
    pod('c/client', { app: 'client' }, { nodeName: 'n2', ips: ['10.0.0.9'] }),
  ],
  [
    policy('a/web-80', { podSelector: sel({ app: 'web' }), ingress: [rule(null, [port(80)])] }),
    policy('b/twin-81', { podSelector: sel({ app: 'twin' }), ingress: [rule(null, [port(81)])] }),
  ],
);

function ask(to: string, portNumber: number): ReturnType<typeof explainQuery> {
  const [namespace = '', name = ''] = to.split('/');
  const options: ExplainOptions = {
    files: [],
    from: { kind: 'pod', namespace: 'c', name: 'client' },
    to: { kind: 'pod', namespace, name },
    port: portNumber,
    protocol: 'TCP',
    family: null,
    output: 'text',
  };
  return explainQuery(CLUSTER, options);
}

const WARNING =
  "  warning: 10.0.0.5 is the IP of a/web and b/twin; the dataplane enforces a/web's ingress policies for it, so b/twin's do not apply at this address\n";

describe('explain about a pod that shares its IP', () => {
  const rows: { name: string; to: string; port: number; text: string }[] = [
    {
      name: 'asked about b/twin, the answer names b/twin, decided by a/web’s enforced policies',
      to: 'b/twin',
      port: 81,
      text:
        'DENIED c/client (10.0.0.9) -> b/twin (10.0.0.5) TCP/81\n' +
        '  egress of c/client: allowed: not isolated (no policy selects it for egress)\n' +
        '  ingress of b/twin: denied: isolated by a/web-80; no rule of a/web-80 allows it\n' +
        WARNING,
    },
    {
      name: 'asked about a/web, the answer is a/web’s and still warns about the shared IP',
      to: 'a/web',
      port: 80,
      text:
        'ALLOWED c/client (10.0.0.9) -> a/web (10.0.0.5) TCP/80\n' +
        '  egress of c/client: allowed: not isolated (no policy selects it for egress)\n' +
        '  ingress of a/web: allowed by a/web-80 ingress rule 0; isolated by a/web-80\n' +
        WARNING,
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const e = ask(row.to, row.port);
      assert.equal(e.to.pod, row.to);
      assert.equal(formatExplanationText(e), row.text);
    });
  }

  it('the JSON answer carries the shared IP and whose policies are enforced', () => {
    const json = JSON.parse(formatExplanationJson(ask('b/twin', 81))) as {
      ingress: { pod: string; sharedIp: unknown };
    };
    assert.equal(json.ingress.pod, 'b/twin');
    assert.deepEqual(json.ingress.sharedIp, {
      ip: '10.0.0.5',
      pods: ['a/web', 'b/twin'],
      enforced: 'a/web',
    });
  });

  it('asked by address, the pod at the IP is the one it is enforced for, not the first by name', () => {
    const c = cluster(
      [ns('a'), ns('b')],
      [
        pod('a/old', {}, { ips: ['10.0.0.5'], created: T1 }),
        pod('b/new', {}, { ips: ['10.0.0.5'], created: T2 }),
      ],
    );
    assert.equal(findPodByIp(c, '10.0.0.5')?.name, 'new');
  });
});
