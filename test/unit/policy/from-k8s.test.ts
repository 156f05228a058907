/**
 * from-k8s: defaulting as the API server applies it, every validation error
 * with its exact field path and message, and the loader's cluster-wide rules
 * (lists, duplicates, implicit namespaces and nodes, sorting).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { clusterFromObjects } from '../../../src/policy/from-k8s.js';
import { namespaceFromK8s } from '../../../src/policy/namespace-from-k8s.js';
import { nodeFromK8s } from '../../../src/policy/node-from-k8s.js';
import { podFromK8s } from '../../../src/policy/pod-from-k8s.js';
import { policyFromK8s } from '../../../src/policy/policy-from-k8s.js';
import type { LoadResult, Problem } from '../../../src/policy/from-k8s.js';
import type { Peer, Pod, Policy } from '../../../src/policy/model.js';
import {
  expr,
  ipBlock,
  named,
  node,
  ns,
  nsPeer,
  pod,
  podPeer,
  policy,
  port,
  rule,
  sel,
} from '../../support/builders.js';

// ---- Kubernetes-shaped inputs (what YAML or the API gives), kept short.

type Json = Record<string, unknown>;

function k8sPolicy(qualified: string, spec: unknown, extra: Json = {}): Json {
  const [namespace, name] = qualified.split('/');
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace },
    spec,
    ...extra,
  };
}

function k8sPod(qualified: string, spec: Json = {}, status: Json = {}, labels?: Json): Json {
  const [namespace, name] = qualified.split('/');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, ...(labels ? { labels } : {}) },
    spec,
    status,
  };
}

function k8sNamespace(name: string, labels?: Json): Json {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(labels ? { labels } : {}) } };
}

function k8sNode(name: string, spec: Json = {}, status: Json = {}): Json {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec, status };
}

/** Loads objects with sources `in.yaml#1`, `in.yaml#2`, … */
function load(...objects: unknown[]): LoadResult {
  return clusterFromObjects(objects.map((object, i) => ({ source: `in.yaml#${i + 1}`, object })));
}

function error(
  field: string,
  message: string,
  object = 'NetworkPolicy a/p',
  source = 'in.yaml#1',
): Problem {
  return { severity: 'error', source, object, field, message };
}

function warning(
  field: string,
  message: string,
  object = 'NetworkPolicy a/p',
  source = 'in.yaml#1',
): Problem {
  return { severity: 'warning', source, object, field, message };
}

const UNKNOWN = 'unknown fields are rejected because ignoring them could widen access';
const DNS_SUBDOMAIN_RULE =
  "at most 253 lower-case letters, digits and '-' or '.', starting and ending with a letter or digit";

/** Loads policy `a/p` (namespace `a` defined, so no implicit-namespace warning). */
function loadPolicy(spec: unknown, extra: Json = {}): LoadResult {
  return load(k8sPolicy('a/p', spec, extra), k8sNamespace('a'));
}

// ---- defaulting

describe('policyFromK8s applies the API server defaults', () => {
  const rows: { name: string; spec: unknown; want: Policy }[] = [
    {
      name: 'policyTypes absent and no egress rules defaults to Ingress only',
      spec: { podSelector: {}, ingress: [{}] },
      want: policy('a/p', { policyTypes: ['ingress'], ingress: [rule()] }),
    },
    {
      name: 'policyTypes absent with egress rules defaults to Ingress and Egress',
      spec: { podSelector: {}, egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] },
      want: policy('a/p', {
        policyTypes: ['ingress', 'egress'],
        egress: [rule(null, [port(53, 'UDP')])],
      }),
    },
    {
      name: 'policyTypes absent with an empty egress list defaults to Ingress only',
      spec: { podSelector: {}, egress: [] },
      want: policy('a/p', { policyTypes: ['ingress'] }),
    },
    {
      name: 'an empty policyTypes list is defaulted like an absent one',
      spec: { podSelector: {}, policyTypes: [], egress: [{}] },
      want: policy('a/p', { policyTypes: ['ingress', 'egress'], egress: [rule()] }),
    },
    {
      name: 'explicit policyTypes Egress alone is kept, ingress rules and all',
      spec: { podSelector: {}, policyTypes: ['Egress'], ingress: [{}] },
      want: policy('a/p', { policyTypes: ['egress'], ingress: [rule()] }),
    },
    {
      name: 'policyTypes are mapped to lower case in ingress, egress order',
      spec: { podSelector: {}, policyTypes: ['Egress', 'Ingress'] },
      want: policy('a/p', { policyTypes: ['ingress', 'egress'] }),
    },
    {
      name: 'a port without protocol is TCP',
      spec: { podSelector: {}, ingress: [{ ports: [{ port: 80 }, { port: 'http' }, {}] }] },
      want: policy('a/p', { ingress: [rule(null, [port(80), port('http'), port()])] }),
    },
    {
      name: 'SCTP and UDP protocols and endPort ranges are kept',
      spec: {
        podSelector: {},
        ingress: [
          { ports: [{ protocol: 'SCTP', port: 9000, endPort: 9100 }, { protocol: 'UDP' }] },
        ],
      },
      want: policy('a/p', {
        ingress: [rule(null, [port(9000, 'SCTP', 9100), port(undefined, 'UDP')])],
      }),
    },
    {
      name: 'absent from and ports mean all peers and all ports',
      spec: { podSelector: {}, ingress: [{}] },
      want: policy('a/p', { ingress: [rule(null, null)] }),
    },
    {
      name: 'empty from and ports lists mean all peers and all ports, like absent ones',
      spec: {
        podSelector: {},
        ingress: [{ from: [], ports: [] }],
        egress: [{ to: [], ports: [] }],
      },
      want: policy('a/p', { ingress: [rule(null, null)], egress: [rule(null, null)] }),
    },
    {
      name: 'null fields are read as absent',
      spec: {
        podSelector: null,
        policyTypes: null,
        ingress: [{ from: null, ports: null }],
        egress: null,
      },
      want: policy('a/p', { ingress: [rule(null, null)] }),
    },
    {
      name: 'ingress: [] is kept as no rules (isolation without allows)',
      spec: { podSelector: { matchLabels: { app: 'web' } }, ingress: [] },
      want: policy('a/p', { podSelector: sel({ app: 'web' }), ingress: [] }),
    },
    {
      name: 'an absent podSelector selects every pod',
      spec: { ingress: [] },
      want: policy('a/p', { podSelector: sel() }),
    },
    {
      name: 'a peer with podSelector only means the policy namespace',
      spec: {
        podSelector: {},
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'c' } } }] }],
      },
      want: policy('a/p', { ingress: [rule([podPeer(sel({ app: 'c' }))])] }),
    },
    {
      name: 'a peer with namespaceSelector only selects every pod of those namespaces',
      spec: {
        podSelector: {},
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'x' } } }] }],
      },
      want: policy('a/p', { ingress: [rule([nsPeer(sel({ team: 'x' }))])] }),
    },
    {
      name: 'a peer with both selectors keeps both (AND)',
      spec: {
        podSelector: {},
        egress: [{ to: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'db' } } }] }],
      },
      want: policy('a/p', {
        policyTypes: ['ingress', 'egress'],
        egress: [rule([nsPeer(sel(), sel({ app: 'db' }))])],
      }),
    },
    {
      name: 'match expressions are kept with their operators and values',
      spec: {
        podSelector: {
          matchExpressions: [
            { key: 'tier', operator: 'In', values: ['a', 'b'] },
            { key: 'legacy', operator: 'DoesNotExist' },
            { key: 'env', operator: 'NotIn', values: ['dev'] },
            { key: 'app', operator: 'Exists', values: [] },
          ],
        },
      },
      want: policy('a/p', {
        podSelector: sel(
          {},
          expr('tier', 'In', 'a', 'b'),
          expr('legacy', 'DoesNotExist'),
          expr('env', 'NotIn', 'dev'),
          expr('app', 'Exists'),
        ),
      }),
    },
    {
      name: 'ipBlock cidr and except are kept as written',
      spec: {
        podSelector: {},
        egress: [
          {
            to: [
              { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } },
              { ipBlock: { cidr: '::/0' } },
            ],
          },
        ],
      },
      want: policy('a/p', {
        policyTypes: ['ingress', 'egress'],
        egress: [rule([ipBlock('10.0.0.0/8', '10.1.0.0/16'), ipBlock('::/0')])],
      }),
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const result = loadPolicy(row.spec);
      assert.deepEqual(result.problems, []);
      assert.deepEqual(result.cluster.policies, [row.want]);
    });
  }
});

// ---- validation: each row's policy is skipped with exactly these problems

describe('policyFromK8s rejects invalid policies with a located error', () => {
  const rows: { name: string; spec: unknown; extra?: Json; problems: Problem[] }[] = [
    {
      name: 'endPort without a port',
      spec: { ingress: [{ ports: [{ endPort: 90 }] }] },
      problems: [error('spec.ingress[0].ports[0].endPort', 'endPort requires a numeric port')],
    },
    {
      name: 'endPort with a named port',
      spec: { ingress: [{ ports: [{ port: 'http' }, { port: 'http', endPort: 90 }] }] },
      problems: [error('spec.ingress[0].ports[1].endPort', 'endPort requires a numeric port')],
    },
    {
      name: 'endPort below port',
      spec: { egress: [{ ports: [{ port: 80, endPort: 79 }] }] },
      problems: [error('spec.egress[0].ports[0].endPort', 'endPort 79 is less than port 80')],
    },
    {
      name: 'port zero',
      spec: { ingress: [{ ports: [{ port: 0 }] }] },
      problems: [error('spec.ingress[0].ports[0].port', 'port 0 is out of range 1–65535')],
    },
    {
      name: 'port above 65535',
      spec: { ingress: [{ ports: [{ port: 65536 }] }] },
      problems: [error('spec.ingress[0].ports[0].port', 'port 65536 is out of range 1–65535')],
    },
    {
      name: 'a fractional port (the API server decodes ports as integers)',
      spec: { ingress: [{ ports: [{ port: 80.5 }] }] },
      problems: [error('spec.ingress[0].ports[0].port', 'port 80.5 is not an integer')],
    },
    {
      name: 'a fractional endPort',
      spec: { ingress: [{ ports: [{ port: 80, endPort: 90.5 }] }] },
      problems: [error('spec.ingress[0].ports[0].endPort', 'endPort 90.5 is not an integer')],
    },
    {
      name: 'endPort above 65535',
      spec: { ingress: [{ ports: [{ port: 80, endPort: 70000 }] }] },
      problems: [
        error('spec.ingress[0].ports[0].endPort', 'endPort 70000 is out of range 1–65535'),
      ],
    },
    {
      name: 'a numeric port written as a string',
      spec: { ingress: [{ ports: [{ port: '80' }] }] },
      problems: [
        error(
          'spec.ingress[0].ports[0].port',
          'port "80" is a string; write a numeric port as a number (port: 80)',
        ),
      ],
    },
    {
      name: 'a named port that is no IANA service name',
      spec: { ingress: [{ ports: [{ port: 'Web_Port' }] }] },
      problems: [
        error(
          'spec.ingress[0].ports[0].port',
          "invalid port name \"Web_Port\": at most 15 lower-case letters, digits and '-', with a letter, not starting or ending with '-'",
        ),
      ],
    },
    {
      name: 'a port that is neither number nor name',
      spec: { ingress: [{ ports: [{ port: true }] }] },
      problems: [
        error('spec.ingress[0].ports[0].port', 'must be a number or a port name, not true'),
      ],
    },
    {
      name: 'a lower-case protocol, with a hint',
      spec: { ingress: [{ ports: [{ protocol: 'tcp', port: 80 }] }] },
      problems: [
        error(
          'spec.ingress[0].ports[0].protocol',
          'unknown protocol "tcp"; use "TCP" (upper case)',
        ),
      ],
    },
    {
      name: 'an unknown protocol',
      spec: { ingress: [{ ports: [{ protocol: 'ICMP' }] }] },
      problems: [
        error('spec.ingress[0].ports[0].protocol', 'unknown protocol "ICMP"; use TCP, UDP or SCTP'),
      ],
    },
    {
      name: 'a CIDR with a prefix length out of range',
      spec: { egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] },
      problems: [
        error(
          'spec.egress[0].to[0].ipBlock.cidr',
          'invalid CIDR "10.0.0.0/33": the prefix length must be a number from 0 to 32',
        ),
      ],
    },
    {
      name: 'a CIDR whose address is invalid',
      spec: { egress: [{ to: [{ ipBlock: { cidr: '10.0.0/8' } }] }] },
      problems: [
        error(
          'spec.egress[0].to[0].ipBlock.cidr',
          'invalid CIDR "10.0.0/8": "10.0.0" is not an IP address',
        ),
      ],
    },
    {
      name: 'a bare address where a CIDR is required',
      spec: { egress: [{ to: [{ ipBlock: { cidr: 'fd00::1' } }] }] },
      problems: [
        error(
          'spec.egress[0].to[0].ipBlock.cidr',
          '"fd00::1" is not a CIDR: add a prefix length, e.g. "fd00::1/128"',
        ),
      ],
    },
    {
      name: 'an ipBlock without cidr',
      spec: { egress: [{ to: [{ ipBlock: { except: ['10.0.0.0/8'] } }] }] },
      problems: [
        error(
          'spec.egress[0].to[0].ipBlock.cidr',
          'Required value: an ipBlock needs a cidr, e.g. "10.0.0.0/8"',
        ),
      ],
    },
    {
      name: 'an ipBlock with an empty cidr, which the API server also calls missing',
      spec: { egress: [{ to: [{ ipBlock: { cidr: '' } }] }] },
      problems: [
        error(
          'spec.egress[0].to[0].ipBlock.cidr',
          'Required value: an ipBlock needs a cidr, e.g. "10.0.0.0/8"',
        ),
      ],
    },
    {
      name: 'an empty except',
      spec: { egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: [''] } }] }] },
      problems: [
        error(
          'spec.egress[0].to[0].ipBlock.except[0]',
          'Invalid value: "": must be a CIDR, e.g. "10.9.8.0/24" or "2001:db8::/64"',
        ),
      ],
    },
    {
      name: 'a CIDR with an octet that leading zeros do not save (0300 is 300, not octal)',
      spec: { egress: [{ to: [{ ipBlock: { cidr: '0300.0.0.0/8' } }] }] },
      problems: [
        error(
          'spec.egress[0].to[0].ipBlock.cidr',
          'invalid CIDR "0300.0.0.0/8": "0300.0.0.0" is not an IP address',
        ),
      ],
    },
    {
      name: 'an except outside its cidr',
      spec: {
        ingress: [
          { from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.1.0/24', '10.1.0.0/24'] } }] },
        ],
      },
      problems: [
        error(
          'spec.ingress[0].from[0].ipBlock.except[1]',
          'except "10.1.0.0/24" must lie strictly inside cidr "10.0.0.0/16"',
        ),
      ],
    },
    {
      name: 'an except equal to its cidr',
      spec: {
        ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.0.0/16'] } }] }],
      },
      problems: [
        error(
          'spec.ingress[0].from[0].ipBlock.except[0]',
          'except "10.0.0.0/16" must lie strictly inside cidr "10.0.0.0/16"',
        ),
      ],
    },
    {
      name: 'an except of the other address family',
      spec: { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['fd00::/64'] } }] }] },
      problems: [
        error(
          'spec.ingress[0].from[0].ipBlock.except[0]',
          'except "fd00::/64" is IPv6 but cidr "10.0.0.0/8" is IPv4',
        ),
      ],
    },
    {
      name: 'an unknown selector operator',
      spec: {
        podSelector: { matchExpressions: [{ key: 'app', operator: 'in', values: ['web'] }] },
      },
      problems: [
        error(
          'spec.podSelector.matchExpressions[0].operator',
          'unknown operator "in"; use In, NotIn, Exists or DoesNotExist',
        ),
      ],
    },
    {
      name: 'In with no values',
      spec: { podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] } },
      problems: [
        error(
          'spec.podSelector.matchExpressions[0].values',
          'operator In needs at least one value',
        ),
      ],
    },
    {
      name: 'NotIn with values absent',
      spec: {
        ingress: [
          {
            from: [
              { namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'NotIn' }] } },
            ],
          },
        ],
      },
      problems: [
        error(
          'spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values',
          'operator NotIn needs at least one value',
        ),
      ],
    },
    {
      name: 'Exists with values',
      spec: {
        podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['web'] }] },
      },
      problems: [
        error('spec.podSelector.matchExpressions[0].values', 'operator Exists takes no values'),
      ],
    },
    {
      name: 'DoesNotExist with values',
      spec: {
        podSelector: {
          matchExpressions: [{ key: 'app', operator: 'DoesNotExist', values: ['x'] }],
        },
      },
      problems: [
        error(
          'spec.podSelector.matchExpressions[0].values',
          'operator DoesNotExist takes no values',
        ),
      ],
    },
    {
      name: 'a match expression without key',
      spec: { podSelector: { matchExpressions: [{ operator: 'Exists' }] } },
      problems: [error('spec.podSelector.matchExpressions[0].key', 'is required')],
    },
    {
      name: 'a matchLabels value that is not a string',
      spec: { podSelector: { matchLabels: { version: 2 } } },
      problems: [
        error('spec.podSelector.matchLabels.version', 'label values are strings, not 2; quote it'),
      ],
    },
    {
      name: 'an invalid label value in a selector',
      spec: { podSelector: { matchLabels: { app: 'web server' } } },
      problems: [
        error(
          'spec.podSelector.matchLabels.app',
          "invalid label value \"web server\": at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
        ),
      ],
    },
    {
      name: 'an unknown policyTypes value',
      spec: { policyTypes: ['ingress'] },
      problems: [
        error('spec.policyTypes[0]', 'unknown policy type "ingress"; use Ingress or Egress'),
      ],
    },
    {
      name: 'three policyTypes, which must not silently add egress isolation',
      spec: { policyTypes: ['Ingress', 'Egress', 'Ingress'] },
      problems: [
        error(
          'spec.policyTypes',
          'Invalid value: 3 entries: may not specify more than two policyTypes (Ingress and Egress, each once)',
        ),
      ],
    },
    {
      name: 'a policyType given twice',
      spec: { policyTypes: ['Egress', 'Egress'] },
      problems: [error('spec.policyTypes[1]', 'Duplicate value: "Egress"')],
    },
    {
      name: 'a null policyTypes item, which the API server reads as ""',
      spec: { policyTypes: [null] },
      problems: [
        warning('spec.policyTypes[0]', 'null is read as "", as the API server reads it'),
        error('spec.policyTypes[0]', 'unknown policy type ""; use Ingress or Egress'),
      ],
    },
    {
      name: 'a null peer, which the API server reads as an empty peer',
      spec: { ingress: [{ from: [null] }] },
      problems: [
        warning('spec.ingress[0].from[0]', 'null is read as {}, as the API server reads it'),
        error(
          'spec.ingress[0].from[0]',
          'a peer must set podSelector, namespaceSelector or ipBlock',
        ),
      ],
    },
    {
      name: 'a null match expression, which the API server reads as one without key or operator',
      spec: { podSelector: { matchExpressions: [null] } },
      problems: [
        warning(
          'spec.podSelector.matchExpressions[0]',
          'null is read as {}, as the API server reads it',
        ),
        error('spec.podSelector.matchExpressions[0].key', 'is required'),
        error('spec.podSelector.matchExpressions[0].operator', 'is required'),
      ],
    },
    {
      name: 'a typo in the spec (podSelecter), which would otherwise select every pod',
      spec: { podSelecter: { matchLabels: { app: 'web' } }, ingress: [] },
      problems: [
        error(
          'spec.podSelecter',
          `unknown field "podSelecter" (did you mean "podSelector"?); ${UNKNOWN}`,
        ),
      ],
    },
    {
      name: 'a typo at the top level',
      spec: {},
      extra: { specs: {} },
      problems: [error('specs', `unknown field "specs" (did you mean "spec"?); ${UNKNOWN}`)],
    },
    {
      name: 'from in an egress rule',
      spec: { egress: [{ from: [{ podSelector: {} }] }] },
      problems: [
        error(
          'spec.egress[0].from',
          `unknown field "from" (egress rules name their peers in "to"); ${UNKNOWN}`,
        ),
      ],
    },
    {
      name: 'an unknown field in a rule',
      spec: { ingress: [{ port: [{ port: 80 }] }] },
      problems: [
        error('spec.ingress[0].port', `unknown field "port" (did you mean "ports"?); ${UNKNOWN}`),
      ],
    },
    {
      name: 'an unknown field in a peer',
      spec: { ingress: [{ from: [{ namespaceSelecter: {} }] }] },
      problems: [
        error(
          'spec.ingress[0].from[0].namespaceSelecter',
          `unknown field "namespaceSelecter" (did you mean "namespaceSelector"?); ${UNKNOWN}`,
        ),
        error(
          'spec.ingress[0].from[0]',
          'a peer must set podSelector, namespaceSelector or ipBlock',
        ),
      ],
    },
    {
      name: 'an unknown field in a port',
      spec: { ingress: [{ ports: [{ port: 80, protocl: 'UDP' }] }] },
      problems: [
        error(
          'spec.ingress[0].ports[0].protocl',
          `unknown field "protocl" (did you mean "protocol"?); ${UNKNOWN}`,
        ),
      ],
    },
    {
      name: 'an unknown field in an ipBlock',
      spec: { egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', exclude: ['10.1.0.0/16'] } }] }] },
      problems: [
        error(
          'spec.egress[0].to[0].ipBlock.exclude',
          `unknown field "exclude" (expected one of cidr, except); ${UNKNOWN}`,
        ),
      ],
    },
    {
      name: 'an unknown field in a selector (matchLabel), which would otherwise match everything',
      spec: { podSelector: { matchLabel: { app: 'web' } } },
      problems: [
        error(
          'spec.podSelector.matchLabel',
          `unknown field "matchLabel" (did you mean "matchLabels"?); ${UNKNOWN}`,
        ),
      ],
    },
    {
      name: 'an empty peer',
      spec: { ingress: [{ from: [{}] }] },
      problems: [
        error(
          'spec.ingress[0].from[0]',
          'a peer must set podSelector, namespaceSelector or ipBlock',
        ),
      ],
    },
    {
      name: 'an ipBlock combined with a selector in one peer',
      spec: { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] },
      problems: [
        error(
          'spec.ingress[0].from[0]',
          'ipBlock cannot be combined with podSelector or namespaceSelector in one peer; use separate peers',
        ),
      ],
    },
    {
      name: 'ingress that is not a list',
      spec: { ingress: { from: [] } },
      problems: [error('spec.ingress', 'must be a list, not an object')],
    },
    {
      name: 'several errors in one policy are all reported',
      spec: {
        podSelector: { matchLabels: { app: 1 } },
        ingress: [{ ports: [{ port: 0, protocol: 'tcp' }] }],
      },
      problems: [
        error('spec.podSelector.matchLabels.app', 'label values are strings, not 1; quote it'),
        error(
          'spec.ingress[0].ports[0].protocol',
          'unknown protocol "tcp"; use "TCP" (upper case)',
        ),
        error('spec.ingress[0].ports[0].port', 'port 0 is out of range 1–65535'),
      ],
    },
  ];
  for (const row of rows) {
    it(`${row.name} is an error, and the policy is skipped`, () => {
      const result = loadPolicy(row.spec, row.extra);
      assert.deepEqual(result.problems, row.problems);
      assert.deepEqual(result.cluster.policies, []);
    });
  }

  it('a policy without a namespace is an error', () => {
    const result = load({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'p' },
    });
    assert.deepEqual(result.problems, [
      error(
        'metadata.namespace',
        'is required (nftpol does not assume "default")',
        'NetworkPolicy <no namespace>/p',
      ),
    ]);
    assert.deepEqual(result.cluster.policies, []);
  });

  it('a policy without a name is an error', () => {
    const result = load(
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { namespace: 'a' },
        spec: {},
      },
      k8sNamespace('a'),
    );
    assert.deepEqual(result.problems, [
      error('metadata.name', 'is required', 'NetworkPolicy a/<no name>'),
    ]);
    assert.deepEqual(result.cluster.policies, []);
  });

  it('a policy name that is no DNS subdomain is an error', () => {
    const result = loadPolicy({}, { metadata: { name: 'Deny_All', namespace: 'a' } });
    assert.deepEqual(result.problems, [
      error(
        'metadata.name',
        "invalid name \"Deny_All\": at most 253 lower-case letters, digits and '-' or '.', starting and ending with a letter or digit",
        'NetworkPolicy a/Deny_All',
      ),
    ]);
  });
});

describe('null list items are read as the API server reads them: as the zero value, with a warning', () => {
  const nullItem = (field: string, zero = '{}'): Problem =>
    warning(field, `null is read as ${zero}, as the API server reads it`);
  const rows: { name: string; spec: unknown; want: Policy; problems: Problem[] }[] = [
    {
      name: 'ingress: [null] is ingress: [{}], which allows everything',
      spec: { ingress: [null] },
      want: policy('a/p', { ingress: [rule()] }),
      problems: [nullItem('spec.ingress[0]')],
    },
    {
      name: 'egress: [null] is egress: [{}], and defaults policyTypes to both',
      spec: { egress: [null] },
      want: policy('a/p', { policyTypes: ['ingress', 'egress'], egress: [rule()] }),
      problems: [nullItem('spec.egress[0]')],
    },
    {
      name: 'ports: [null] is ports: [{}]: every TCP port',
      spec: { ingress: [{ ports: [null, { port: 53, protocol: 'UDP' }] }] },
      want: policy('a/p', { ingress: [rule(null, [port(), port(53, 'UDP')])] }),
      problems: [nullItem('spec.ingress[0].ports[0]')],
    },
    {
      name: 'values: [null] is values: [""], the empty label value',
      spec: { podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: [null] }] } },
      want: policy('a/p', { podSelector: sel({}, expr('app', 'In', '')) }),
      problems: [nullItem('spec.podSelector.matchExpressions[0].values[0]', '""')],
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const result = loadPolicy(row.spec);
      assert.deepEqual(result.problems, row.problems);
      assert.deepEqual(result.cluster.policies, [row.want]);
    });
  }
});

describe('policyFromK8s warns but loads', () => {
  const rows: { name: string; cidr: string; except?: string; want: Peer; problems: Problem[] }[] = [
    {
      name: 'leading zeros in octets and prefix length are decimal, as the API server reads them',
      cidr: '010.0.0.0/08',
      except: '010.001.0.0/016',
      want: ipBlock('10.0.0.0/8', '10.1.0.0/16'),
      problems: [
        warning(
          'spec.egress[0].to[0].ipBlock.cidr',
          '"010.0.0.0/08" has leading zeros; they are read as decimal, as the API server reads them: "10.0.0.0/8" (write it so)',
        ),
        warning(
          'spec.egress[0].to[0].ipBlock.except[0]',
          '"010.001.0.0/016" has leading zeros; they are read as decimal, as the API server reads them: "10.1.0.0/16" (write it so)',
        ),
      ],
    },
    {
      name: 'an IPv6 prefix length with leading zeros',
      cidr: 'fd00::/064',
      want: ipBlock('fd00::/64'),
      problems: [
        warning(
          'spec.egress[0].to[0].ipBlock.cidr',
          '"fd00::/064" has leading zeros; they are read as decimal, as the API server reads them: "fd00::/64" (write it so)',
        ),
      ],
    },
    {
      name: 'leading zeros and host bits: both are said',
      cidr: '010.0.0.1/08',
      want: ipBlock('10.0.0.1/8'),
      problems: [
        warning(
          'spec.egress[0].to[0].ipBlock.cidr',
          '"010.0.0.1/08" has leading zeros; they are read as decimal, as the API server reads them: "10.0.0.1/8" (write it so)',
        ),
        warning(
          'spec.egress[0].to[0].ipBlock.cidr',
          '"010.0.0.1/08" has host bits set; it is read as "10.0.0.0/8"',
        ),
      ],
    },
  ];
  for (const row of rows) {
    it(`${row.name}: ${row.cidr}`, () => {
      const block = { cidr: row.cidr, ...(row.except ? { except: [row.except] } : {}) };
      const result = loadPolicy({ egress: [{ to: [{ ipBlock: block }] }] });
      assert.deepEqual(result.problems, row.problems);
      assert.deepEqual(result.cluster.policies, [
        policy('a/p', { policyTypes: ['ingress', 'egress'], egress: [rule([row.want])] }),
      ]);
    });
  }

  it('a cidr with host bits is a warning and is kept as written', () => {
    const result = loadPolicy({
      egress: [{ to: [{ ipBlock: { cidr: '10.0.0.1/8', except: ['10.1.2.3/16'] } }] }],
    });
    assert.deepEqual(result.problems, [
      warning(
        'spec.egress[0].to[0].ipBlock.cidr',
        '"10.0.0.1/8" has host bits set; it is read as "10.0.0.0/8"',
      ),
      warning(
        'spec.egress[0].to[0].ipBlock.except[0]',
        '"10.1.2.3/16" has host bits set; it is read as "10.1.0.0/16"',
      ),
    ]);
    assert.deepEqual(result.cluster.policies, [
      policy('a/p', {
        policyTypes: ['ingress', 'egress'],
        egress: [rule([ipBlock('10.0.0.1/8', '10.1.2.3/16')])],
      }),
    ]);
  });
});

// ---- pods, namespaces, nodes

describe('podFromK8s', () => {
  const rows: {
    name: string;
    spec?: Json;
    status?: Json;
    labels?: Json;
    want: Partial<Pod>;
  }[] = [
    {
      name: 'every status.podIPs entry is an IP, in canonical form',
      status: {
        phase: 'Running',
        podIP: '10.0.0.5',
        podIPs: [{ ip: '10.0.0.5' }, { ip: 'FD00:0:0:0:0:0:0:5' }],
      },
      want: { ips: ['10.0.0.5', 'fd00::5'], nodeName: '' },
    },
    {
      name: 'status.podIP is used when podIPs is absent',
      status: { phase: 'Running', podIP: '10.0.0.6' },
      want: { ips: ['10.0.0.6'], nodeName: '' },
    },
    {
      name: 'a pod with IPs and no phase is Running',
      spec: { nodeName: 'n1' },
      status: { podIPs: [{ ip: '10.0.0.7' }] },
      want: { ips: ['10.0.0.7'], nodeName: 'n1', phase: 'Running' },
    },
    {
      name: 'a pod with neither IPs nor phase is Pending',
      spec: { nodeName: 'n1' },
      want: { nodeName: 'n1', phase: 'Pending' },
    },
    {
      name: 'a given phase is kept',
      status: { phase: 'Succeeded', podIPs: [{ ip: '10.0.0.8' }] },
      want: { ips: ['10.0.0.8'], nodeName: '', phase: 'Succeeded' },
    },
    {
      name: 'hostNetwork and labels are read',
      spec: { hostNetwork: true, nodeName: 'n1' },
      status: { podIP: '192.168.0.1' },
      labels: { app: 'agent' },
      want: { hostNetwork: true, ips: ['192.168.0.1'], nodeName: 'n1', labels: { app: 'agent' } },
    },
    {
      name: 'named ports of containers then init containers, protocol default TCP, unnamed ones dropped',
      spec: {
        nodeName: 'n1',
        containers: [
          { name: 'app', ports: [{ containerPort: 9090 }, { name: 'http', containerPort: 8080 }] },
          { name: 'dns', ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }] },
        ],
        initContainers: [{ name: 'sidecar', ports: [{ name: 'metrics', containerPort: 9100 }] }],
      },
      want: {
        nodeName: 'n1',
        phase: 'Pending',
        ports: [named('http', 8080), named('dns', 53, 'UDP'), named('metrics', 9100)],
      },
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const result = load(k8sPod('a/web', row.spec, row.status, row.labels), k8sNamespace('a'));
      assert.deepEqual(result.problems, []);
      const { labels = {}, ...over } = row.want;
      assert.deepEqual(result.cluster.pods, [pod('a/web', labels, over)]);
    });
  }

  const bad: { name: string; pod: Json; problems: Problem[] }[] = [
    {
      name: 'an invalid pod IP',
      pod: k8sPod('a/web', {}, { podIPs: [{ ip: '10.0.0.300' }] }),
      problems: [error('status.podIPs[0].ip', 'invalid IPv4 address "10.0.0.300"', 'Pod a/web')],
    },
    {
      name: 'an unknown phase',
      pod: k8sPod('a/web', {}, { phase: 'Started' }),
      problems: [
        error(
          'status.phase',
          'unknown phase "Started"; expected one of Pending, Running, Succeeded, Failed, Unknown',
          'Pod a/web',
        ),
      ],
    },
    {
      name: 'a named container port out of range',
      pod: k8sPod('a/web', { containers: [{ ports: [{ name: 'http', containerPort: 0 }] }] }),
      problems: [
        error(
          'spec.containers[0].ports[0].containerPort',
          'containerPort 0 is out of range 1–65535',
          'Pod a/web',
        ),
      ],
    },
    {
      name: 'a container port with an unknown protocol',
      pod: k8sPod('a/web', {
        containers: [{ ports: [{ name: 'http', containerPort: 80, protocol: 'HTTP' }] }],
      }),
      problems: [
        error(
          'spec.containers[0].ports[0].protocol',
          'unknown protocol "HTTP"; use TCP, UDP or SCTP',
          'Pod a/web',
        ),
      ],
    },
    {
      name: 'a label value that is a number',
      pod: k8sPod('a/web', {}, {}, { version: 1 }),
      problems: [
        error('metadata.labels.version', 'label values are strings, not 1; quote it', 'Pod a/web'),
      ],
    },
    {
      name: 'hostNetwork that is no boolean',
      pod: k8sPod('a/web', { hostNetwork: 'yes' }),
      problems: [error('spec.hostNetwork', 'must be true or false, not "yes"', 'Pod a/web')],
    },
    {
      name: 'a fractional container port',
      pod: k8sPod('a/web', { containers: [{ ports: [{ name: 'http', containerPort: 80.5 }] }] }),
      problems: [
        error(
          'spec.containers[0].ports[0].containerPort',
          'containerPort 80.5 is not an integer',
          'Pod a/web',
        ),
      ],
    },
    {
      name: 'a nodeName that would put a line of its own into a script',
      pod: k8sPod('a/web', { nodeName: 'n2\nflush ruleset\n#' }),
      problems: [
        error(
          'spec.nodeName',
          `invalid node name "n2\\nflush ruleset\\n#": ${DNS_SUBDOMAIN_RULE}`,
          'Pod a/web',
        ),
      ],
    },
    {
      name: 'a nodeName in upper case',
      pod: k8sPod('a/web', { nodeName: 'Node-1' }),
      problems: [
        error('spec.nodeName', `invalid node name "Node-1": ${DNS_SUBDOMAIN_RULE}`, 'Pod a/web'),
      ],
    },
    {
      name: 'a nodeName longer than 253 characters',
      pod: k8sPod('a/web', { nodeName: 'n'.repeat(254) }),
      problems: [
        error(
          'spec.nodeName',
          `invalid node name "${'n'.repeat(254)}": ${DNS_SUBDOMAIN_RULE}`,
          'Pod a/web',
        ),
      ],
    },
    {
      name: 'two podIPs of one family',
      pod: k8sPod('a/web', {}, { podIPs: [{ ip: '10.0.0.5' }, { ip: '10.0.0.6' }] }),
      problems: [
        error(
          'status.podIPs',
          'may specify no more than one IP for each IP family; 10.0.0.5 and 10.0.0.6 are both IPv4',
          'Pod a/web',
        ),
      ],
    },
    {
      name: 'one pod IP twice, however spelled',
      pod: k8sPod('a/web', {}, { podIPs: [{ ip: 'fd00::5' }, { ip: 'FD00:0::5' }] }),
      problems: [
        error(
          'status.podIPs',
          'may specify no more than one IP for each IP family; fd00::5 and fd00::5 are both IPv6',
          'Pod a/web',
        ),
        error('status.podIPs[1]', 'Duplicate value: "fd00::5"', 'Pod a/web'),
      ],
    },
    {
      name: 'a pod without a namespace',
      pod: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' } },
      problems: [
        error(
          'metadata.namespace',
          'is required (nftpol does not assume "default")',
          'Pod <no namespace>/web',
        ),
      ],
    },
  ];
  for (const row of bad) {
    it(`${row.name} is an error, and the pod is skipped`, () => {
      const result = load(row.pod, k8sNamespace('a'));
      assert.deepEqual(result.problems, row.problems);
      assert.deepEqual(result.cluster.pods, []);
    });
  }

  it('reads creationTimestamp, and deletionTimestamp as terminating', () => {
    const item = {
      metadata: {
        name: 'web',
        namespace: 'a',
        creationTimestamp: '2024-05-01T10:00:00Z',
        deletionTimestamp: '2024-05-02T10:00:00.5+02:00',
      },
      status: { podIP: '10.0.0.9' },
    };
    assert.deepEqual(podFromK8s(item), {
      value: pod(
        'a/web',
        {},
        {
          nodeName: '',
          ips: ['10.0.0.9'],
          created: Date.parse('2024-05-01T10:00:00Z'),
          terminating: true,
        },
      ),
      problems: [],
    });
  });

  it('rejects a timestamp that is no RFC 3339 time, as the API server does', () => {
    const item = {
      metadata: { name: 'web', namespace: 'a', creationTimestamp: 'yesterday' },
      status: { podIP: '10.0.0.9' },
    };
    assert.deepEqual(podFromK8s(item, 'p.yaml#1').problems, [
      error(
        'metadata.creationTimestamp',
        'must be an RFC 3339 time such as "2024-05-01T10:00:00Z", not "yesterday"',
        'Pod a/web',
        'p.yaml#1',
      ),
    ]);
  });

  it('converts an API list item, which has no kind or apiVersion', () => {
    const item = {
      metadata: { name: 'web', namespace: 'a' },
      spec: { nodeName: 'n1' },
      status: { podIP: '10.0.0.9' },
    };
    assert.deepEqual(podFromK8s(item), {
      value: pod('a/web', {}, { nodeName: 'n1', ips: ['10.0.0.9'] }),
      problems: [],
    });
  });
});

describe('namespaceFromK8s', () => {
  it('adds the kubernetes.io/metadata.name label', () => {
    assert.deepEqual(namespaceFromK8s(k8sNamespace('a', { team: 'x' })), {
      value: ns('a', { team: 'x' }),
      problems: [],
    });
  });

  it('replaces a wrong kubernetes.io/metadata.name label, with a warning', () => {
    const result = namespaceFromK8s(
      k8sNamespace('a', { 'kubernetes.io/metadata.name': 'b' }),
      'ns.yaml#1',
    );
    assert.deepEqual(result, {
      value: ns('a'),
      problems: [
        warning(
          'metadata.labels.kubernetes.io/metadata.name',
          'is always the namespace name; "b" replaced by "a"',
          'Namespace a',
          'ns.yaml#1',
        ),
      ],
    });
  });

  it('rejects a namespace name that is no DNS label', () => {
    const result = namespaceFromK8s(k8sNamespace('team.a'), 'ns.yaml#1');
    assert.deepEqual(result, {
      value: null,
      problems: [
        error(
          'metadata.name',
          'invalid name "team.a": at most 63 lower-case letters, digits and \'-\', starting and ending with a letter or digit',
          'Namespace team.a',
          'ns.yaml#1',
        ),
      ],
    });
  });

  it('rejects an invalid label key', () => {
    const result = namespaceFromK8s(k8sNamespace('a', { '-bad': 'x' }));
    assert.deepEqual(result.problems, [
      error(
        'metadata.labels.-bad',
        "invalid label key \"-bad\": an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
        'Namespace a',
        '',
      ),
    ]);
    assert.equal(result.value, null);
  });
});

describe('nodeFromK8s', () => {
  const rows: { name: string; spec: Json; status: Json; want: ReturnType<typeof node> }[] = [
    {
      name: 'spec.podCIDRs wins over spec.podCIDR',
      spec: { podCIDR: '10.0.1.0/24', podCIDRs: ['10.0.1.0/24', 'fd00:1::/64'] },
      status: {},
      want: node('n1', { podCIDRs: ['10.0.1.0/24', 'fd00:1::/64'] }),
    },
    {
      name: 'spec.podCIDR is used when podCIDRs is absent',
      spec: { podCIDR: '10.0.2.0/24' },
      status: {},
      want: node('n1', { podCIDRs: ['10.0.2.0/24'] }),
    },
    {
      name: 'only InternalIP addresses are kept, in canonical form',
      spec: {},
      status: {
        addresses: [
          { type: 'Hostname', address: 'n1' },
          { type: 'InternalIP', address: '192.168.0.1' },
          { type: 'ExternalIP', address: '203.0.113.1' },
          { type: 'InternalIP', address: 'FD00::0:1' },
        ],
      },
      want: node('n1', { addresses: ['192.168.0.1', 'fd00::1'] }),
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      assert.deepEqual(nodeFromK8s(k8sNode('n1', row.spec, row.status)), {
        value: row.want,
        problems: [],
      });
    });
  }

  it('reads a pod CIDR with leading zeros as decimal, with a warning', () => {
    assert.deepEqual(nodeFromK8s(k8sNode('n1', { podCIDRs: ['010.0.1.0/024'] }), 'n.yaml#1'), {
      value: node('n1', { podCIDRs: ['10.0.1.0/24'] }),
      problems: [
        warning(
          'spec.podCIDRs[0]',
          '"010.0.1.0/024" has leading zeros; they are read as decimal, as the API server reads them: "10.0.1.0/24" (write it so)',
          'Node n1',
          'n.yaml#1',
        ),
      ],
    });
  });

  it('rejects a node with a bad pod CIDR', () => {
    assert.deepEqual(nodeFromK8s(k8sNode('n1', { podCIDRs: ['10.0.1.0/99'] }), 'n.yaml#1'), {
      value: null,
      problems: [
        error(
          'spec.podCIDRs[0]',
          'invalid CIDR "10.0.1.0/99": the prefix length must be a number from 0 to 32',
          'Node n1',
          'n.yaml#1',
        ),
      ],
    });
  });

  it('rejects a node with a bad InternalIP', () => {
    const result = nodeFromK8s(
      k8sNode('n1', {}, { addresses: [{ type: 'InternalIP', address: 'n1.local' }] }),
    );
    assert.deepEqual(result.problems, [
      error('status.addresses[0].address', 'invalid IPv4 address "n1.local"', 'Node n1', ''),
    ]);
    assert.equal(result.value, null);
  });
});

describe('policyFromK8s on its own', () => {
  it('names the source it is given and does not check kind', () => {
    const result = policyFromK8s(
      { metadata: { name: 'p', namespace: 'a' }, spec: { ingress: [{ from: [{}] }] } },
      'api',
    );
    assert.deepEqual(result, {
      value: null,
      problems: [
        error(
          'spec.ingress[0].from[0]',
          'a peer must set podSelector, namespaceSelector or ipBlock',
          'NetworkPolicy a/p',
          'api',
        ),
      ],
    });
  });

  it('rejects a value that is not an object', () => {
    assert.deepEqual(policyFromK8s('deny-all'), {
      value: null,
      problems: [error('', 'must be an object', 'NetworkPolicy <no namespace>/<no name>', '')],
    });
  });
});

// ---- the cluster

describe('clusterFromObjects', () => {
  it('warns about an IP two pods claim, naming both and the one it is enforced for', () => {
    const running = (qualified: string, meta: Json) => {
      const p = k8sPod(qualified, { nodeName: 'n1' }, { podIP: '10.0.0.5' });
      return { ...p, metadata: { ...(p['metadata'] as Json), ...meta } };
    };
    const result = load(
      k8sNamespace('a'),
      k8sNamespace('b'),
      running('a/web', { creationTimestamp: '2024-05-01T10:00:00Z' }),
      running('b/twin', {
        creationTimestamp: '2024-05-01T11:00:00Z',
        deletionTimestamp: '2024-05-01T12:00:00Z',
      }),
    );
    assert.deepEqual(result.problems, [
      warning(
        'status.podIPs',
        "10.0.0.5 is also the IP of Pod a/web; only one pod's policies can be enforced for an IP, and they are a/web's (b/twin is terminating)",
        'Pod b/twin',
        'in.yaml#4',
      ),
    ]);
    assert.equal(result.cluster.pods.length, 2);
  });

  it('sorts namespaces and nodes by name, pods and policies by namespace then name', () => {
    const result = load(
      k8sNode('n2'),
      k8sPolicy('b/z', {}),
      k8sPod('b/a'),
      k8sNamespace('b'),
      k8sPolicy('a/y', {}),
      k8sPod('a/b'),
      k8sNamespace('a'),
      k8sNode('n1'),
      k8sPod('a/a'),
    );
    assert.deepEqual(result.problems, []);
    const { cluster } = result;
    assert.deepEqual(
      cluster.namespaces.map((n) => n.name),
      ['a', 'b'],
    );
    assert.deepEqual(
      cluster.nodes.map((n) => n.name),
      ['n1', 'n2'],
    );
    assert.deepEqual(
      cluster.pods.map((p) => `${p.namespace}/${p.name}`),
      ['a/a', 'a/b', 'b/a'],
    );
    assert.deepEqual(
      cluster.policies.map((p) => `${p.namespace}/${p.name}`),
      ['a/y', 'b/z'],
    );
  });

  it('creates a namespace that a pod or policy lives in but nobody defined, with a warning once', () => {
    const result = load(k8sPod('x/web'), k8sPolicy('x/p', {}), k8sPolicy('y/p', {}));
    assert.deepEqual(result.cluster.namespaces, [ns('x'), ns('y')]);
    assert.deepEqual(result.problems, [
      warning(
        'metadata.namespace',
        'namespace "x" is not defined; assumed to exist with only the label kubernetes.io/metadata.name=x',
        'Pod x/web',
      ),
      warning(
        'metadata.namespace',
        'namespace "y" is not defined; assumed to exist with only the label kubernetes.io/metadata.name=y',
        'NetworkPolicy y/p',
        'in.yaml#3',
      ),
    ]);
  });

  it('creates a node that a pod names but nobody defined, silently', () => {
    const result = load(k8sNamespace('a'), k8sPod('a/web', { nodeName: 'n9' }));
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.cluster.nodes, [node('n9')]);
  });

  it('keeps the first of two objects with the same kind, namespace and name', () => {
    const result = load(
      k8sNamespace('a', { first: 'yes' }),
      k8sPolicy('a/p', { ingress: [] }),
      k8sPolicy('a/p', { ingress: [{}] }),
      k8sNamespace('a', { second: 'yes' }),
      k8sPolicy('b/p', {}),
      k8sNamespace('b'),
    );
    assert.deepEqual(result.problems, [
      error(
        'metadata.name',
        'duplicate of the NetworkPolicy a/p in in.yaml#2; this one is ignored',
        'NetworkPolicy a/p',
        'in.yaml#3',
      ),
      error(
        'metadata.name',
        'duplicate of the Namespace a in in.yaml#1; this one is ignored',
        'Namespace a',
        'in.yaml#4',
      ),
    ]);
    assert.deepEqual(result.cluster.namespaces, [ns('a', { first: 'yes' }), ns('b')]);
    assert.deepEqual(result.cluster.policies, [policy('a/p', { ingress: [] }), policy('b/p')]);
  });

  it('loads the other objects when one policy is invalid', () => {
    const result = load(
      k8sNamespace('a'),
      k8sPolicy('a/bad', { ingress: [{ ports: [{ port: 0 }] }] }),
      k8sPolicy('a/good', {}),
    );
    assert.deepEqual(result.problems, [
      error(
        'spec.ingress[0].ports[0].port',
        'port 0 is out of range 1–65535',
        'NetworkPolicy a/bad',
        'in.yaml#2',
      ),
    ]);
    assert.deepEqual(result.cluster.policies, [policy('a/good')]);
  });

  it('reads the items of a v1 List and of typed lists, naming each item in its source', () => {
    const result = load(
      {
        apiVersion: 'v1',
        kind: 'List',
        items: [
          k8sNamespace('a'),
          k8sPod('a/web'),
          { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'a' } },
        ],
      },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicyList',
        items: [
          {
            metadata: { name: 'p', namespace: 'a' },
            spec: { ingress: [{ ports: [{ port: 0 }] }] },
          },
        ],
      },
    );
    assert.deepEqual(result.cluster.namespaces, [ns('a')]);
    assert.deepEqual(result.cluster.pods, [pod('a/web', {}, { nodeName: '', phase: 'Pending' })]);
    assert.deepEqual(result.problems, [
      warning(
        '',
        'kind Deployment (apps/v1) is not used by NetworkPolicy; ignored',
        'Deployment a/d',
        'in.yaml#1/items[2]',
      ),
      error(
        'spec.ingress[0].ports[0].port',
        'port 0 is out of range 1–65535',
        'NetworkPolicy a/p',
        'in.yaml#2/items[0]',
      ),
    ]);
  });

  it('ignores other kinds and non-objects with a warning', () => {
    const result = load(
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'a' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } },
      'just a string',
      { replicas: 3 },
    );
    assert.deepEqual(result.problems, [
      warning(
        '',
        'kind Service (v1) is not used by NetworkPolicy; ignored',
        'Service a/s',
        'in.yaml#1',
      ),
      warning(
        '',
        'kind ConfigMap (v1) is not used by NetworkPolicy; ignored',
        'ConfigMap c',
        'in.yaml#2',
      ),
      warning('', 'not a Kubernetes object (no kind); ignored', '', 'in.yaml#3'),
      warning('', 'not a Kubernetes object (no kind); ignored', '', 'in.yaml#4'),
    ]);
  });

  it('rejects a known kind with the wrong or no apiVersion', () => {
    const result = load(
      { ...k8sPolicy('a/p', {}), apiVersion: 'extensions/v1beta1' },
      { kind: 'Pod', metadata: { name: 'web', namespace: 'a' } },
    );
    assert.deepEqual(result.problems, [
      error(
        'apiVersion',
        'a NetworkPolicy must have apiVersion "networking.k8s.io/v1", but it is "extensions/v1beta1"',
      ),
      error(
        'apiVersion',
        'a Pod must have apiVersion "v1", but it is missing',
        'Pod a/web',
        'in.yaml#2',
      ),
    ]);
    assert.deepEqual(result.cluster, { namespaces: [], pods: [], policies: [], nodes: [] });
  });

  it('rejects a List whose items is not a list', () => {
    const result = load({ apiVersion: 'v1', kind: 'List', items: { a: 1 } });
    assert.deepEqual(result.problems, [error('items', 'must be a list, not an object', 'List')]);
  });
});
